"""glucose_sim_plots のテスト。

Figure を返し、警告(日本語の字形の欠けなど)を出さない。
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import render_strict
from matplotlib.figure import Figure

from medrnn.core.plotting import setup_japanese_font
from medrnn.glucose_sim import plots

_render = (
    render_strict  # PNG と PDF に描き、警告(字形の欠けなど)をエラーにする
)


def test_plots_return_figures() -> None:
    setup_japanese_font()
    t = np.arange(48) * 5 / 60  # 時刻 [時]
    glucose = 120 + 30 * np.sin(t)
    carbs = np.zeros(48)
    carbs[10] = 60.0
    insulin = np.full(48, 0.05)
    insulin[10] += 6.0
    figs = [
        plots.plot_simulated_day(t, glucose, glucose + 3, carbs, insulin),
        plots.plot_forecasts(
            t, glucose, {"線形・血糖のみ": glucose + 1}, np.array([t[10]])
        ),
        plots.plot_error_curves(
            np.arange(3.0),
            {
                "線形・血糖のみ": np.ones(3),
                "線形・血糖 + 食事 + インスリン": np.ones(3),
            },
            "予測先 [min]",
            vline=0,
        ),
    ]
    for fig in figs:
        assert isinstance(fig, Figure)
        assert all(ax.get_ylabel() for ax in fig.axes)  # 縦軸に単位つきの名前
        _render(fig)
    assert len(figs[0].axes) == 3


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError, match="長さ"):
        plots.plot_forecasts(
            np.arange(3.0), np.arange(3.0), {"線形": np.arange(2.0)}
        )
