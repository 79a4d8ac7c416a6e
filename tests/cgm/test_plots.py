"""medrnn.cgm.plots のテスト。

図が Figure を返し、警告なしで描け、軸に単位があること。
"""

import numpy as np
import pytest
from helpers import assert_figure_with_units
from matplotlib.figure import Figure

from medrnn.cgm import plots as cgm_plots
from medrnn.cgm import tasks as cgm_tasks
from medrnn.core.plotting import setup_japanese_font


@pytest.fixture(autouse=True)
def _font():
    setup_japanese_font()


H = np.concatenate(
    [np.arange(0, 2, 5 / 60), np.arange(3, 4, 5 / 60)]
)  # 途切れあり
G = 120 + 40 * np.sin(H)
PRED = {"持続予測": G - 3, "GRU": G + 2, "未登録の方法": G}


@pytest.mark.parametrize(
    "make, units",
    [
        (lambda: cgm_plots.plot_cgm_trace(H, G), ("[時間]", "[mg/dL]")),
        (
            lambda: cgm_plots.plot_forecast_panels(
                H, G, {"30 分先": (H + 0.5, PRED), "60 分先": (H + 1, PRED)}
            ),
            ("[時間]", "[mg/dL]"),
        ),
        (
            lambda: cgm_plots.plot_error_by_horizon(
                5 * np.arange(1, 13),
                {"線形 AR": np.arange(12.0), "GRU": np.ones(12)},
                {"GRU": np.full(12, 0.5)},
            ),
            ("[分]", "[mg/dL]"),
        ),
        (
            lambda: cgm_plots.plot_clarke_grids(G, {"a": G, "b": G * 1.3}),
            ("実測", "予測", "[mg/dL]"),
        ),
    ],
)
def test_plots_render_with_units(make, units):
    assert_figure_with_units(make(), units)


def test_trace_breaks_line_at_gaps():
    fig = cgm_plots.plot_cgm_trace(H, G)
    line = [
        ln for ln in fig.axes[0].lines if ln.get_label().startswith("CGM")
    ][0]
    assert np.isnan(line.get_ydata()).sum() == 1  # 2 時間〜3 時間の途切れ


def test_clarke_labels_sit_in_their_own_zones():
    for zone, places in cgm_plots.CLARKE_LABELS.items():
        ref, pred = np.array(places, dtype=float).T
        assert set(cgm_tasks.clarke_zones(ref, pred)) == {zone}


def test_clarke_lines_separate_zones():
    # 各境界線の中点のすぐ両側で、領域が変わる(線が境目の上にある)
    for xs, ys in cgm_plots.CLARKE_LINES:
        mx, my = np.mean(xs), np.mean(ys)
        dx, dy = xs[1] - xs[0], ys[1] - ys[0]
        nx, ny = -dy / np.hypot(dx, dy), dx / np.hypot(dx, dy)  # 法線
        zones = cgm_tasks.clarke_zones(
            np.array([mx + nx, mx - nx]), np.array([my + ny, my - ny])
        )
        assert zones[0] != zones[1], (xs, ys)


def test_plots_draw_on_given_axes_and_reject_bad_input():
    fig = Figure()
    ax = fig.add_subplot()
    assert cgm_plots.plot_cgm_trace(H, G, ax=ax) is fig
    with pytest.raises(ValueError, match="同じ長さ"):
        cgm_plots.plot_cgm_trace(H, G[:-1])
    with pytest.raises(ValueError, match="予測先の数"):
        cgm_plots.plot_error_by_horizon(np.arange(3), {"a": np.ones(2)})
    with pytest.raises(ValueError, match="形状が違います"):
        cgm_plots.plot_clarke_grid(G, G[:-1])
    with pytest.raises(ValueError, match="axes"):
        cgm_plots.plot_forecast_panels(H, G, {"a": (H, PRED)}, axes=[ax, ax])
