"""注意機構の章の図。どれも Figure を返し、show() も savefig() もしない。

時刻は予測の時点(窓の最後の測定)からの時間 [分] で表す(0 が最後の測定)。
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..core.plotting import (
    COLORS,
    _axes_list,
    _finish,
    _new_axes,
    _series_style,
)


def _check_windows(minutes: np.ndarray, *arrays: np.ndarray) -> None:
    """どの配列も形状 (k, T) で、T が minutes の長さと同じかを確かめる。"""
    T = len(minutes)
    for a in arrays:
        if np.ndim(a) != 2 or np.shape(a)[1] != T:
            raise ValueError(
                f"配列は形状 (k, {T}) にしてください"
                f"(受け取った形状: {np.shape(a)})"
            )


def plot_attention_windows(
    minutes: np.ndarray,
    glucose: np.ndarray,
    alpha: np.ndarray,
    labels: list[str],
    axes: list[Axes] | None = None,
) -> Figure:
    """いくつかの窓の血糖値 [mg/dL](上)と、注意の重み(下)を並べる。

    Parameters
    ----------
    minutes : np.ndarray
        予測の時点からの各時刻 [分]。形状 (T,)
    glucose : np.ndarray
        k 個の窓の血糖値 [mg/dL]。形状 (k, T)
    alpha : np.ndarray
        同じ窓の注意の重み(各行の和が 1)。形状 (k, T)
    labels : list[str]
        凡例に書く窓の名前(k 個)。
    axes : list[Axes] or None
        描く上下 2 つの Axes。None なら新しい Figure を作る。

    Returns
    -------
    Figure
        2 段の図(下の点線は一様な重み 1/T)。
    """
    _check_windows(minutes, glucose, alpha)
    fig, axes = _axes_list(axes, 2, (8, 5), sharex=True)
    for i, (g, a, label) in enumerate(zip(glucose, alpha, labels)):
        style = _series_style(i)
        axes[0].plot(minutes, g, lw=1.5, label=label, **style)
        axes[1].plot(minutes, a, lw=1.5, label=label, **style)
    axes[1].axhline(1 / len(minutes), color=COLORS["black"], ls=":", lw=1)
    axes[0].set_ylabel("血糖値 [mg/dL]")
    axes[0].legend(fontsize="small")
    axes[1].set(
        xlabel="予測の時点からの時間 [分]",
        ylabel="注意の重み α_t",
        ylim=(0, 1.02),
    )
    return fig


def plot_weight_matrix(
    weights: np.ndarray, minutes: np.ndarray, ax: Axes | None = None
) -> Figure:
    """自己注意の重み(行 = 見る位置、列 = 見られる位置)を色で表す。
    色は 0(最も薄い)から、重みの最大値(最も濃い)まで。

    Parameters
    ----------
    weights : np.ndarray
        注意の重み。形状 (T, T)
    minutes : np.ndarray
        各位置の時刻 [分](等間隔)。形状 (T,)
    ax : Axes or None
        描く Axes。None なら新しい Figure を作る。

    Returns
    -------
    Figure
        色の帯(カラーバー)付きの図。
    """
    w = np.asarray(weights)
    if w.shape != (len(minutes), len(minutes)):
        raise ValueError(
            f"weights は形状 ({len(minutes)}, {len(minutes)}) にしてください"
        )
    fig, ax = _new_axes(ax, (5.5, 4.5))
    step = minutes[1] - minutes[0] if len(minutes) > 1 else 1.0
    extent = (
        minutes[0] - step / 2,
        minutes[-1] + step / 2,
        minutes[-1] + step / 2,
        minutes[0] - step / 2,
    )
    image = ax.imshow(w, cmap="Blues", vmin=0, extent=extent)
    fig.colorbar(image, ax=ax, label="注意の重み")
    return _finish(fig, ax, xlabel="見られる時刻 [分]", ylabel="見る時刻 [分]")


def plot_weight_pair(
    minutes: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    names: tuple[str, str] = ("モデルの重み", "別の重み"),
    ax: Axes | None = None,
) -> Figure:
    """1 つの窓の 2 通りの注意の重みを、時刻ごとの棒で並べる。

    Parameters
    ----------
    minutes : np.ndarray
        棒を置く時刻 [分]。形状 (T,)
    alpha, beta : np.ndarray
        比べる 2 つの重み(青とオレンジの棒)。形状 (T,)
    names : tuple[str, str]
        凡例に書く 2 つの重みの名前。
    ax : Axes or None
        描く Axes。None なら新しい Figure を作る。

    Returns
    -------
    Figure
        棒グラフの図。
    """
    _check_windows(minutes, np.atleast_2d(alpha), np.atleast_2d(beta))
    fig, ax = _new_axes(ax, (7, 3))
    width = 0.4 * (minutes[1] - minutes[0]) if len(minutes) > 1 else 0.4
    for i, (w, name) in enumerate(zip((alpha, beta), names)):
        color = (COLORS["blue"], COLORS["orange"])[i]
        shift = (i - 0.5) * width
        ax.bar(minutes + shift, w, width=width, color=color, label=name)
    ax.set_ylim(0, 1.02)
    xlabel = "予測の時点からの時間 [分]"
    return _finish(
        fig, ax, {"fontsize": "small"}, xlabel=xlabel, ylabel="注意の重み"
    )
