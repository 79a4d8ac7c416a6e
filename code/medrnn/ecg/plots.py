"""心電図の章の図。どれも Figure を返し、show() も savefig() もしない。

軸には単位を付ける: 時間 [s]、R 波からの時間 [ms]、電位 [mV]、RR 間隔 [ms]。
描く先 ax・axes が None なら新しい Figure を作る(:mod:`medrnn.core.plotting`
の決まり)。
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from ..core.plotting import (
    COLORS,
    _axes_list,
    _dots,
    _finish,
    _new_axes,
    shade_segments,
)

CLASS_NAMES = ("正常", "形が違う")  # 0 と 1 のラベルの名前


def plot_ecg_strips(
    t: np.ndarray,
    x: np.ndarray,
    windows: list[tuple[float, float]],
    peaks: np.ndarray | None = None,
    abnormal: np.ndarray | None = None,
    axes: list[Axes] | None = None,
) -> Figure:
    """心電図の一部(windows の各区間 [s])を縦に並べ、
    検出した R 波に印を付ける。

    Parameters
    ----------
    t, x : np.ndarray
        時刻 [s] と心電図 [mV]。どちらも形状 (n,)
    windows : list[tuple[float, float]]
        描く区間 (始まり, 終わり) [s]。1 区間が 1 パネル。
    peaks : np.ndarray or None
        R 波のサンプル番号。形状 (n_peaks,)。None なら印を付けない。
    abnormal : np.ndarray or None
        形が違う拍なら True(bool)。形状 (n_peaks,)。別の印で描く。
    axes : list[Axes] or None
        パネルごとの描く先。

    Returns
    -------
    Figure
    """
    fig, axes = _axes_list(axes, len(windows), (9, 2.3 * len(windows)))
    p = np.asarray([] if peaks is None else peaks, dtype=np.int64)
    marks = (
        np.zeros(len(p), dtype=bool)
        if abnormal is None
        else np.asarray(abnormal, dtype=bool)
    )
    for ax, (start, stop) in zip(axes, windows):
        inside = (t >= start) & (t <= stop)
        ax.plot(t[inside], x[inside], color=COLORS["black"], lw=0.8)
        shown = (t[p] >= start) & (t[p] <= stop)
        for flag, color, marker, name in (
            (False, COLORS["blue"], "v", "R 波(検出)"),
            (True, COLORS["red"], "x", "形が違う拍"),
        ):
            sel = p[shown & (marks == flag)]
            if len(sel):
                _dots(
                    ax,
                    t[sel],
                    x[sel],
                    marker=marker,
                    color=color,
                    ms=6,
                    label=name,
                )
        ax.set(xlim=(start, stop), ylabel="電位 [mV]")
        if len(p):
            ax.legend(loc="upper right", fontsize="small")
    axes[-1].set_xlabel("時間 [s]")
    return fig


def _mark_off_scale(
    ax: Axes, t: np.ndarray, edge: float, marker: str, **kwargs: Any
) -> None:
    """目盛りの外の値を、時刻 t・高さ edge(目盛りの端)に赤い印で描く。"""
    _dots(
        ax,
        t,
        np.full(len(t), edge),
        marker=marker,
        color=COLORS["red"],
        **kwargs,
    )


def plot_rr_tachogram(
    t_beats: np.ndarray,
    rr_ms: np.ndarray,
    ylim: tuple[float, float] = (200.0, 1600.0),
    ax: Axes | None = None,
) -> Figure:
    """RR 間隔 [ms] の時間変化(右の目盛りは心拍数 [bpm])。

    ylim を外れる値は上端・下端に三角の印で描く(雑音による拍の取りこぼしなど)。

    Parameters
    ----------
    t_beats : np.ndarray
        拍の時刻 [s]。形状 (n,)
    rr_ms : np.ndarray
        RR 間隔 [ms]。形状 (n,)
    ylim : (float, float)
        縦軸の範囲 [ms]。
    ax : Axes or None
        描く先。

    Returns
    -------
    Figure
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    ok = (rr >= ylim[0]) & (rr <= ylim[1])
    fig, ax = _new_axes(ax, (9, 3))
    style = {"marker": ".", "ms": 4, "color": COLORS["blue"]}
    _dots(ax, t_beats[ok], rr[ok], label="RR 間隔", **style)
    high, low = rr > ylim[1], rr < ylim[0]
    if high.any() or low.any():
        label = "目盛りの外(RR が長すぎる・短すぎる)"
        _mark_off_scale(ax, t_beats[high], ylim[1], "^", label=label)
        _mark_off_scale(ax, t_beats[low], ylim[0], "v")
    ax.set(xlabel="時間 [s]", ylabel="RR 間隔 [ms]", ylim=ylim)
    bpm = ax.secondary_yaxis("right", functions=(_rr_to_bpm, _rr_to_bpm))
    bpm.set_ylabel("心拍数 [bpm]")
    bpm.set_yticks([40, 50, 60, 80, 100, 120, 150, 200])
    return _finish(fig, ax, {"loc": "upper left", "fontsize": "small"})


def _rr_to_bpm(values: ArrayLike) -> np.ndarray:
    """RR [ms] ↔ 心拍数 [bpm](60000 / 値。自分自身が逆関数)。"""
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(v > 0, 60_000.0 / np.where(v > 0, v, 1.0), np.inf)


def plot_corr_histogram(
    corr: np.ndarray, threshold: float, ax: Axes | None = None
) -> Figure:
    """鋳型との相関係数の分布と、ラベルを分けるしきい値。

    Parameters
    ----------
    corr : np.ndarray
        拍ごとの相関係数(NaN は除く)。形状 (n,)
    threshold : float
        これ未満を「形が違う拍」とするしきい値。
    ax : Axes or None
        描く先。

    Returns
    -------
    Figure
    """
    c = np.asarray(corr, dtype=np.float64)
    c = c[np.isfinite(c)]
    fig, ax = _new_axes(ax, (6.5, 3.2))
    ax.hist(
        c,
        # matplotlib の型では bins に配列を書けないが、実際は受け付ける
        bins=np.linspace(-1, 1, 41),  # type: ignore[arg-type]
        color=COLORS["sky"],
        edgecolor=COLORS["blue"],
    )
    ax.axvline(
        threshold,
        color=COLORS["red"],
        ls="--",
        label=f"しきい値 {threshold:g}",
    )
    xlabel = "鋳型との相関係数(単位なし)"
    return _finish(
        fig, ax, {"loc": "upper left"}, xlabel=xlabel, ylabel="拍の数"
    )


def plot_beat_overlay(
    t_ms: np.ndarray,
    beats: np.ndarray,
    abnormal: np.ndarray,
    axes: list[Axes] | None = None,
) -> Figure:
    """正常な拍(左)と形が違う拍(右)を重ね描きし、中央値を太線で示す。

    Parameters
    ----------
    t_ms : np.ndarray
        R 波からの時刻 [ms]。形状 (L,)
    beats : np.ndarray
        拍の波形 [mV]。形状 (n, L)
    abnormal : np.ndarray
        形が違う拍なら True(bool)。形状 (n,)
    axes : list[Axes] or None
        パネルごとの描く先。

    Returns
    -------
    Figure
    """
    b, mask = np.asarray(beats), np.asarray(abnormal, dtype=bool)
    if b.shape != (len(mask), len(t_ms)):
        raise ValueError(
            f"beats は形状 ({len(mask)}, {len(t_ms)}) にしてください"
            f"(受け取った形状: {b.shape})"
        )
    fig, axes = _axes_list(axes, 2, (9, 3.4), rows=False)
    colors = (COLORS["blue"], COLORS["red"])
    for ax, flag, color, name in zip(axes, (False, True), colors, CLASS_NAMES):
        group = b[mask == flag]
        ax.plot(t_ms, group.T, color=color, lw=0.5, alpha=0.15)
        if len(group):
            ax.plot(
                t_ms,
                np.median(group, axis=0),
                color=COLORS["black"],
                lw=2,
                label="中央値",
            )
            ax.legend(loc="lower right", fontsize="small")
        ax.set(title=f"{name}({len(group)} 拍)", xlabel="R 波からの時間 [ms]")
    axes[0].set_ylabel("電位 [mV]")
    axes[1].sharey(axes[0])
    return fig


def plot_time_split(
    t: np.ndarray,
    x: np.ndarray,
    bounds_s: dict[str, tuple[float, float]],
    ax: Axes | None = None,
) -> Figure:
    """記録全体と、訓練・検証・テストの区間(時間順)。

    Parameters
    ----------
    t, x : np.ndarray
        時刻 [s] と心電図 [mV]。どちらも形状 (n,)
    bounds_s : dict[str, tuple[float, float]]
        区間の名前 → (始まり, 終わり) [s]。
    ax : Axes or None
        描く先。

    Returns
    -------
    Figure
    """
    fig, ax = _new_axes(ax, (9, 2.8))
    ax.plot(t, x, color=COLORS["black"], lw=0.3)
    shade_segments(ax, bounds_s, alpha=0.15)
    ax.set_xlim(t[0], t[-1])
    legend = {"loc": "upper right", "fontsize": "small", "ncols": 3}
    return _finish(fig, ax, legend, xlabel="時間 [s]", ylabel="電位 [mV]")


def plot_ecg_forecast(
    t: np.ndarray,
    actual: np.ndarray,
    predictions: dict[str, np.ndarray],
    ax: Axes | None = None,
) -> Figure:
    """テスト区間の実測の心電図と、各モデルの予測 [mV]。

    Parameters
    ----------
    t, actual : np.ndarray
        時刻 [s] と実測の心電図 [mV]。どちらも形状 (n,)
    predictions : dict[str, np.ndarray]
        モデルの名前 → 予測 [mV]。各形状 (n,)
    ax : Axes or None
        描く先。

    Returns
    -------
    Figure
    """
    fig, ax = _new_axes(ax, (9, 3.4))
    ax.plot(t, actual, color=COLORS["black"], lw=2, label="実測")
    styles = [
        (COLORS["orange"], ":"),
        (COLORS["blue"], "--"),
        (COLORS["red"], "-"),
        (COLORS["green"], "-."),
    ]
    for (name, pred), (color, ls) in zip(predictions.items(), styles):
        if len(pred) != len(t):
            raise ValueError(
                f"{name!r} の長さ {len(pred)} が t の長さ {len(t)} と違います"
            )
        ax.plot(t, pred, color=color, ls=ls, lw=1.3, label=name)
    ncols = len(predictions) + 1
    legend = {"loc": "upper right", "fontsize": "small", "ncols": ncols}
    return _finish(fig, ax, legend, xlabel="時間 [s]", ylabel="電位 [mV]")


def plot_confusion_matrices(
    matrices: dict[str, np.ndarray], axes: list[Axes] | None = None
) -> Figure:
    """混同行列(行が正解、列が判定)を横に並べ、各マスに拍の数を書く。

    Parameters
    ----------
    matrices : dict[str, np.ndarray]
        パネルの題 → 混同行列(拍の数)。各形状 (n_classes, n_classes)
    axes : list[Axes] or None
        パネルごとの描く先。

    Returns
    -------
    Figure
    """
    fig, axes = _axes_list(
        axes, len(matrices), (3.3 * len(matrices), 3.3), rows=False
    )
    for ax, (title, m) in zip(axes, matrices.items()):
        m = np.asarray(m)
        if m.shape != (2, 2):
            raise ValueError(
                f"{title!r} の混同行列は形状 (2, 2) にしてください"
                f"(受け取った形状: {m.shape})"
            )
        ax.imshow(m, cmap="Blues", vmin=0, vmax=max(1, m.max()))
        for (i, j), count in np.ndenumerate(m):
            ax.text(
                j,
                i,
                f"{count}",
                ha="center",
                va="center",
                fontsize=13,
                color="white" if count > m.max() / 2 else COLORS["black"],
            )
        ax.set(
            xticks=[0, 1],
            yticks=[0, 1],
            xticklabels=CLASS_NAMES,
            yticklabels=CLASS_NAMES,
            xlabel="判定",
            ylabel="正解(発見的ラベル)",
            title=title,
        )
        ax.grid(False)
    return fig
