"""図を描く関数。どれも Figure を返し、show() も savefig() もしない。

色は色覚の多様性に配慮した Okabe–Ito の配色を使う。
"""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

# Okabe–Ito 配色(色覚の違いがあっても区別しやすい)
COLORS = {"blue": "#0072B2", "orange": "#E69F00", "green": "#009E73",
          "red": "#D55E00", "purple": "#CC79A7", "sky": "#56B4E9",
          "yellow": "#F0E442", "black": "#000000"}


def setup_japanese_font() -> str:
    """matplotlib で日本語が表示できるようにし、使ったパッケージ名を返す。

    japanize-matplotlib(distutils が必要で Python 3.12 以降では import できない)
    を優先し、だめなら matplotlib-fontja を使う。
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import japanize_matplotlib  # noqa: F401
        name = "japanize-matplotlib"
    except ImportError:
        import matplotlib_fontja  # noqa: F401
        name = "matplotlib-fontja"
    matplotlib.rcParams.update({
        "axes.unicode_minus": False,  # マイナス記号の文字化けを防ぐ
        "pdf.fonttype": 42,  # PDF にフォントを TrueType で埋め込む
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "axes.grid": True,
        "grid.alpha": 0.3,
    })
    return name


def use_book_figure_formats() -> None:
    """ノートブックの図を PNG(ウェブ用)と PDF(印刷用のベクター)の両方で出す。"""
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("png", "pdf")


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """ax が与えられなければ新しい Figure と Axes を作る(pyplot の状態は使わない)。"""
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def plot_series(t: np.ndarray, series: np.ndarray, n_train: int | None = None,
                ax: Axes | None = None, xlabel: str = "時刻 t",
                ylabel: str = "値(任意単位)") -> Figure:
    """時系列を描き、n_train があれば訓練とテストの境目を示す。"""
    fig, ax = _new_axes(ax, (8, 3))
    if n_train is None:
        ax.plot(t, series, color=COLORS["blue"], lw=1)
    else:
        ax.plot(t[:n_train], series[:n_train], color=COLORS["blue"], lw=1,
                label="訓練")
        ax.plot(t[n_train:], series[n_train:], color=COLORS["orange"], lw=1,
                label="テスト")
        ax.axvline(t[n_train], color="gray", ls="--", lw=1)
        ax.legend(loc="upper right")
    ax.set(xlabel=xlabel, ylabel=ylabel)
    return fig


def plot_loss_curve(train_loss: list[float], val_loss: list[float] | None = None,
                    ax: Axes | None = None, logy: bool = False,
                    floor: float | None = None) -> Figure:
    """エポックごとの損失(学習曲線)を描く。floor はノイズフロアの水平線。"""
    fig, ax = _new_axes(ax, (6, 3.5))
    epochs = np.arange(1, len(train_loss) + 1)
    ax.plot(epochs, train_loss, color=COLORS["blue"], label="訓練損失")
    if val_loss:
        ax.plot(epochs, val_loss, color=COLORS["orange"], ls="--", label="検証損失")
    if floor is not None:
        ax.axhline(floor, color=COLORS["black"], ls=":", lw=1,
                   label=f"ノイズフロア σ² = {floor:.2f}")
    if logy:
        ax.set_yscale("log")
    ax.set(xlabel="エポック", ylabel="平均二乗誤差 (MSE)")
    ax.legend()
    return fig


def plot_predictions(t: np.ndarray, actual: np.ndarray, predicted: np.ndarray,
                     ax: Axes | None = None, truth: np.ndarray | None = None,
                     xlabel: str = "時刻 t") -> Figure:
    """テストデータでの実測値と予測値を重ねる。truth はノイズのない真の波形。"""
    fig, ax = _new_axes(ax, (8, 3.5))
    ax.plot(t, actual, color=COLORS["blue"], marker="o", ms=3, lw=1,
            label="実測値(ノイズあり)")
    ax.plot(t, predicted, color=COLORS["red"], marker="s", ms=3, lw=1.5,
            ls="--", label="予測値")
    if truth is not None:
        ax.plot(t, truth, color=COLORS["black"], lw=1, ls=":",
                label="真の波形 sin(t)")
    ax.set(xlabel=xlabel, ylabel="値(任意単位)")
    ax.legend(loc="upper right", fontsize="small")
    return fig


def plot_activations(x: np.ndarray, ax: Axes | None = None) -> Figure:
    """tanh・シグモイドとその導関数を並べて描く。"""
    fig, ax = _new_axes(ax, (7, 4))
    tanh = np.tanh(x)
    sigmoid = 1 / (1 + np.exp(-x))
    ax.plot(x, tanh, color=COLORS["blue"], label="tanh(x)")
    ax.plot(x, 1 - tanh ** 2, color=COLORS["blue"], ls="--",
            label="tanh の導関数 1 − tanh²(x)")
    ax.plot(x, sigmoid, color=COLORS["orange"], label="シグモイド σ(x)")
    ax.plot(x, sigmoid * (1 - sigmoid), color=COLORS["orange"], ls="--",
            label="σ の導関数 σ(x)(1 − σ(x))")
    ax.axhline(0, color="gray", lw=0.8)
    ax.set(xlabel="入力 x", ylabel="出力")
    ax.legend(fontsize="small")
    return fig


def plot_bars(labels: list[str], values: list[float], errors: list[float] | None = None,
              ax: Axes | None = None, ylabel: str = "テスト MSE",
              floor: float | None = None) -> Figure:
    """手法ごとの値を棒グラフで並べる(errors は標準偏差のエラーバー)。"""
    fig, ax = _new_axes(ax, (7, 3.5))
    palette = list(COLORS.values())
    ax.bar(labels, values, yerr=errors, capsize=4,
           color=[palette[i % len(palette)] for i in range(len(labels))])
    if floor is not None:
        ax.axhline(floor, color=COLORS["black"], ls=":", lw=1,
                   label=f"ノイズフロア σ² = {floor:.2f}")
        ax.legend()
    ax.set(ylabel=ylabel)
    return fig
