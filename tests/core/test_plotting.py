import matplotlib
import numpy as np
import pytest
from helpers import render_strict
from matplotlib.figure import Figure

from medrnn.core import plotting


@pytest.fixture(autouse=True)
def _font():
    plotting.setup_japanese_font()


_render = (
    render_strict  # ウェブ用(PNG)と印刷用(PDF)の両方で描き、警告をエラーにする
)


def test_japanese_font_is_available():
    name = plotting.setup_japanese_font()
    assert name in {"japanize-matplotlib", "matplotlib-fontja"}
    assert matplotlib.rcParams["pdf.fonttype"] == 42


@pytest.mark.parametrize(
    "make",
    [
        lambda: plotting.plot_series(
            np.arange(10.0), np.arange(10.0), n_train=8
        ),
        lambda: plotting.plot_series(np.arange(10.0), np.arange(10.0)),
        lambda: plotting.plot_loss_curve(
            [1.0, 0.5], [1.1, 0.6], logy=True, floor=0.04
        ),
        lambda: plotting.plot_predictions(
            np.arange(5.0), np.ones(5), np.zeros(5), truth=np.ones(5)
        ),
        lambda: plotting.plot_activations(np.linspace(-5, 5, 50)),
        lambda: plotting.plot_bars(
            ["線形 AR", "RNN"], [0.05, 0.06], [0.01, 0.01], floor=0.04
        ),
    ],
)
def test_plots_return_figures_that_render_without_warnings(make):
    fig = make()
    assert isinstance(fig, Figure)
    _render(fig)
    assert fig.axes[0].get_xlabel() or fig.axes[0].get_ylabel()


def test_missing_glyph_is_detected():
    """このテスト群の検査が本当に欠けたグリフを捕まえられることを確かめる。"""
    fig = plotting.plot_series(
        np.arange(3.0), np.arange(3.0), xlabel="\U00013000"
    )
    with pytest.raises(UserWarning):
        _render(fig)


def test_plot_draws_on_a_given_axes():
    fig = Figure()
    ax = fig.add_subplot()
    assert plotting.plot_series(np.arange(3.0), np.arange(3.0), ax=ax) is fig


def test_shared_figure_helpers():
    """領域の図が共通で使う、パネルの用意・点・帯・仕上げの補助。"""
    fig, axes = plotting._axes_list(None, 3, (4, 3), sharex=True)
    assert len(axes) == 3 and all(ax.figure is fig for ax in axes)
    assert axes[0].get_shared_x_axes().joined(axes[0], axes[2])
    row_fig, row = plotting._axes_list(None, 2, (4, 2), rows=False)
    assert plotting._axes_list(row, 2, (1, 1)) == (row_fig, row)
    with pytest.raises(ValueError, match="axes は 3 枚"):
        plotting._axes_list(row, 3, (1, 1))
    ax = axes[0]
    plotting._dots(ax, [0, 1], [2, 3], marker="o", label="点")
    assert ax.lines[-1].get_linestyle() == "None"
    plotting._band(ax, np.arange(3), np.ones(3), np.full(3, 0.5))
    (path,) = ax.collections[-1].get_paths()
    assert path.vertices[:, 1].min() == 0.5
    assert path.vertices[:, 1].max() == 1.5
    out = plotting._finish(fig, ax, {"fontsize": "small"}, xlabel="x [s]")
    assert out is fig
    assert ax.get_xlabel() == "x [s]" and ax.get_legend() is not None
    assert (
        plotting._finish(fig, axes[1], ylabel="y").axes[1].get_legend() is None
    )
