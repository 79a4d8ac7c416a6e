"""複数のバイタルの章の図。どれも Figure を返し、show() も savefig() もしない。

軸には単位を付ける: 時間 [s]、心拍数 [bpm]、電位 [mV]、EDA [μS]、
呼吸 [任意単位]。
どの関数も新しい Figure を作って返す(パネルの用意は
:mod:`medrnn.core.plotting` の ``_axes_list``)。
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..core.plotting import COLORS, _axes_list, _dots, shade_segments

LINE_COLORS = (
    COLORS["blue"],
    COLORS["orange"],
    COLORS["green"],
    COLORS["purple"],
    COLORS["red"],
    COLORS["sky"],
)


def plot_raw_channels(
    t_s: np.ndarray,
    channels: dict[str, np.ndarray],
    start_s: float,
    stop_s: float,
) -> Figure:
    """元の記録(1000 Hz)の各チャネルを、同じ時間の範囲で縦に並べる。

    Parameters
    ----------
    t_s : np.ndarray
        時刻 [s]。形状 (n,)
    channels : dict[str, np.ndarray]
        縦軸のラベル(単位つき)→ 形状 (n,) の信号。
    start_s, stop_s : float
        描く時間の範囲 [s]。

    Returns
    -------
    Figure
    """
    inside = (t_s >= start_s) & (t_s < stop_s)
    n = len(channels)
    fig, axes = _axes_list(None, n, (9, 1.9 * n), sharex=True)
    for ax, (label, x), color in zip(axes, channels.items(), LINE_COLORS):
        ax.plot(t_s[inside], np.asarray(x)[inside], color=color, lw=0.7)
        ax.set_ylabel(label)
    axes[-1].set(xlabel="時間 [s]", xlim=(start_s, stop_s))
    return fig


def plot_derived_series(
    t_s: np.ndarray,
    values: np.ndarray,
    labels: list[str],
    bounds_s: dict[str, tuple[float, float]],
) -> Figure:
    """格子に並べた多変量系列を縦に並べ、時間順の 3 区間を色の帯で示す。

    Parameters
    ----------
    t_s : np.ndarray
        格子の時刻 [s]。形状 (n,)
    values : np.ndarray
        系列。形状 (n, n_channels)
    labels : list[str]
        チャネルごとの縦軸のラベル(単位つき)。長さ n_channels
    bounds_s : dict[str, tuple[float, float]]
        区間の名前 → (始まり, 終わり) [s]。

    Returns
    -------
    Figure
    """
    n = values.shape[1]
    fig, axes = _axes_list(None, n, (9, 1.9 * n), sharex=True)
    for c, (ax, label) in enumerate(zip(axes, labels)):
        ax.plot(t_s, values[:, c], color=COLORS["black"], lw=0.6)
        shade_segments(
            ax, bounds_s, alpha=0.12, with_times=False, legend=c == 0, lw=0
        )
        ax.set_ylabel(label)
    axes[0].legend(loc="upper left", ncol=3, fontsize="small")
    axes[-1].set(xlabel="時間 [s]", xlim=(t_s[0], t_s[-1]))
    return fig


def plot_grid_observations(
    t_s: np.ndarray,
    lines: dict[str, np.ndarray],
    observed_t: np.ndarray,
    observed_v: np.ndarray,
    mask: np.ndarray,
    delta_s: np.ndarray,
    ylabel: str = "心拍数 [bpm]",
    truth: np.ndarray | None = None,
) -> Figure:
    """欠測や不規則な測定を格子に移した様子: 値(埋め方ごと)・マスク・経過時間。

    Parameters
    ----------
    t_s : np.ndarray
        格子の時刻 [s]。形状 (n,)
    lines : dict[str, np.ndarray]
        埋め方の名前 → 格子の上の値。各形状 (n,)
    observed_t, observed_v : np.ndarray
        実際の測定の時刻 [s] と値。形状 (n_obs,)
    mask : np.ndarray
        格子の上のマスク(True = 観測あり)。形状 (n,)
    delta_s : np.ndarray
        最後の観測からの経過時間 [s]。形状 (n,)
    ylabel : str
        値のパネルの縦軸のラベル。
    truth : np.ndarray or None
        本当の値(あれば灰色の太線で描く)。形状 (n,)

    Returns
    -------
    Figure
    """
    fig, axes = _axes_list(
        None, 3, (9, 6.2), sharex=True, height_ratios=[3, 1, 1.5]
    )
    if truth is not None:
        axes[0].step(
            t_s, truth, where="post", color="0.75", lw=3, label="本当の値"
        )
    for (name, y), color in zip(lines.items(), LINE_COLORS):
        axes[0].step(t_s, y, where="post", color=color, lw=1.2, label=name)
    style = {"marker": "o", "ms": 4, "color": COLORS["black"]}
    _dots(axes[0], observed_t, observed_v, label="測定値", **style)
    axes[0].set_ylabel(ylabel)
    axes[0].legend(loc="upper left", fontsize="small", ncol=2)
    axes[1].step(
        t_s,
        np.asarray(mask, dtype=int),
        where="post",
        color=COLORS["black"],
        lw=1,
    )
    axes[1].set(ylabel="マスク", yticks=[0, 1], ylim=(-0.2, 1.2))
    axes[2].step(t_s, delta_s, where="post", color=COLORS["red"], lw=1)
    axes[2].set(ylabel="経過時間 [s]", xlabel="時間 [s]")
    return fig


def plot_sweep(
    rates: list[float],
    curves: dict[str, dict[str, np.ndarray]],
    reference: dict[str, float] | None = None,
) -> Figure:
    """欠測の割合ごとのテスト RMSE [bpm](平均 ± 標準偏差)。モデルごとに 1 枚。

    Parameters
    ----------
    rates : list[float]
        欠測の割合(0〜1)。長さ n_rates
    curves : dict[str, dict[str, np.ndarray]]
        パネルの題 → (埋め方の名前 → 形状 (n_rates, n_seeds) の RMSE [bpm])。
    reference : dict[str, float] or None
        パネルの題 → 欠測なしの RMSE [bpm](破線)。

    Returns
    -------
    Figure
    """
    n = len(curves)
    fig, axes = _axes_list(None, n, (9, 4.6), rows=False, sharey=True)
    x = 100 * np.asarray(rates)
    markers = ("o", "s", "^", "D", "v", "P")
    for ax, (title, by_strategy) in zip(axes, curves.items()):
        for i, (name, values) in enumerate(by_strategy.items()):
            v = np.asarray(values, dtype=np.float64)
            ax.errorbar(
                x + (i - 2) * 0.8,
                v.mean(axis=1),
                yerr=v.std(axis=1, ddof=1),
                capsize=3,
                color=LINE_COLORS[i],
                marker=markers[i],
                label=name,
            )
        if reference is not None and title in reference:
            ax.axhline(
                reference[title], color="gray", ls="--", lw=1, label="欠測なし"
            )
        ax.set(title=title, xlabel="欠測の割合 [%]", xticks=x)
    axes[0].set_ylabel("テスト RMSE [bpm]")
    handles, names = axes[-1].get_legend_handles_labels()
    fig.legend(
        handles, names, loc="outside lower center", ncol=3, fontsize="small"
    )
    return fig
