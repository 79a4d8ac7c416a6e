"""medrnn.ecg.plots のテスト。

図が Figure を返し、警告なしで描け、軸に単位があること。
"""

import numpy as np
import pytest
from helpers import assert_figure_with_units, render_strict
from matplotlib.figure import Figure

from medrnn.core.plotting import setup_japanese_font
from medrnn.ecg import plots as ecg_plots


@pytest.fixture(autouse=True)
def _font():
    setup_japanese_font()


_render = render_strict


T = np.arange(0, 10, 1 / 90)
X = np.sin(2 * np.pi * T)
PEAKS = np.arange(20, len(T), 60)


@pytest.mark.parametrize(
    "make, units",
    [
        (
            lambda: ecg_plots.plot_ecg_strips(
                T, X, [(0, 4), (5, 9)], PEAKS, PEAKS % 120 == 20
            ),
            ("[s]", "[mV]"),
        ),
        (lambda: ecg_plots.plot_ecg_strips(T, X, [(0, 4)]), ("[s]", "[mV]")),
        (
            lambda: ecg_plots.plot_rr_tachogram(
                np.arange(5.0), np.array([800, 820, 2000, 150, 790.0])
            ),
            ("[s]", "[ms]"),
        ),
        (
            lambda: ecg_plots.plot_corr_histogram(
                np.array([0.9, 0.2, np.nan]), 0.8
            ),
            ("相関",),
        ),
        (
            lambda: ecg_plots.plot_beat_overlay(
                np.arange(5.0), np.ones((3, 5)), np.array([True, False, False])
            ),
            ("[ms]", "[mV]"),
        ),
        (
            lambda: ecg_plots.plot_time_split(
                T, X, {"train": (0, 7), "val": (7, 8), "test": (8, 10)}
            ),
            ("[s]", "[mV]"),
        ),
        (
            lambda: ecg_plots.plot_ecg_forecast(
                T[:50], X[:50], {"線形 AR": X[:50]}
            ),
            ("[s]", "[mV]"),
        ),
        (
            lambda: ecg_plots.plot_confusion_matrices(
                {"a": np.array([[5, 1], [0, 3]]), "b": np.zeros((2, 2), int)}
            ),
            ("判定", "正解"),
        ),
    ],
)
def test_plots_render_with_units(make, units):
    assert_figure_with_units(make(), units)


def test_tachogram_has_heart_rate_axis():
    fig = ecg_plots.plot_rr_tachogram(
        np.arange(3.0), np.array([600, 700, 800.0])
    )
    labels = [ax.get_ylabel() for ax in fig.axes] + [
        child.get_ylabel() for ax in fig.axes for child in ax.child_axes
    ]
    assert "心拍数 [bpm]" in labels


def test_plots_draw_on_given_axes():
    fig = Figure()
    ax = fig.add_subplot()
    assert (
        ecg_plots.plot_corr_histogram(np.array([0.5, 0.9]), 0.8, ax=ax) is fig
    )
    fig2 = Figure()
    axes = list(fig2.subplots(1, 2))
    assert (
        ecg_plots.plot_beat_overlay(
            np.arange(3.0), np.ones((2, 3)), np.array([True, False]), axes=axes
        )
        is fig2
    )


def test_plots_reject_bad_shapes():
    with pytest.raises(ValueError, match="beats"):
        ecg_plots.plot_beat_overlay(
            np.arange(3.0), np.ones((2, 4)), np.array([True, False])
        )
    with pytest.raises(ValueError, match="2, 2"):
        ecg_plots.plot_confusion_matrices({"a": np.ones((3, 3))})
    with pytest.raises(ValueError, match="長さ"):
        ecg_plots.plot_ecg_forecast(T[:5], X[:5], {"AR": X[:4]})
    with pytest.raises(ValueError, match="axes"):
        ecg_plots.plot_ecg_strips(
            T, X, [(0, 1), (1, 2)], axes=[Figure().add_subplot()]
        )
