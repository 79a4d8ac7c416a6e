"""プライバシーの章の図。どれも Figure を返し、show() も savefig() もしない。

軸には単位を付ける: RMSE [mg/dL]、ラウンド [回]、ε [なし]、長さ [分]。
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..core.plotting import COLORS, _band, _finish, _new_axes

PALETTE = [COLORS[c] for c in ("black", "blue", "red", "green", "orange")]
LINES = ["-", "--", "-.", ":", (0, (5, 2, 1, 2))]


def plot_convergence(
    curves: dict[str, np.ndarray], ax: Axes | None = None
) -> Figure:
    """検証 RMSE [mg/dL] の推移(シードの平均と ± 標準偏差の帯)。

    集中学習の 1 エポックと連合学習の 1 ラウンドは、どちらも訓練の窓を
    1 周ずつ使う。

    Parameters
    ----------
    curves : dict[str, np.ndarray]
        方法 → RMSE [mg/dL]。形状 (n_seeds, n_rounds + 1)(列 0 は学習前)。
        標準偏差は不偏なので n_seeds ≥ 2
    ax : Axes or None
        描く先。None なら新しい図を作る。

    Returns
    -------
    Figure
        横軸はラウンド [回]、方法ごとに線の種類を変えた図。
    """
    fig, ax = _new_axes(ax, (7, 3.6))
    for k, (name, values) in enumerate(curves.items()):
        v = np.asarray(values, dtype=np.float64)
        x = np.arange(v.shape[1])
        mean, sd = v.mean(axis=0), v.std(axis=0, ddof=1)  # 不偏(ddof=1)
        color = PALETTE[k % len(PALETTE)]
        ax.plot(
            x,
            mean,
            color=color,
            ls=LINES[k % len(LINES)],
            marker="o",
            ms=3,
            label=name,
        )
        _band(ax, x, mean, sd, color=color, alpha=0.15)
    xlabel = "ラウンド(集中学習はエポック)[回]"
    legend = {"loc": "upper right", "fontsize": "small"}
    return _finish(
        fig, ax, legend, xlabel=xlabel, ylabel="検証の RMSE [mg/dL]"
    )


def plot_hospital_errors(
    rows: dict[str, dict[str, np.ndarray]], ax: Axes | None = None
) -> Figure:
    """病院ごとの、単独で学習したモデルと連合学習のモデルのテスト RMSE。

    棒はシードの平均、ひげは最小〜最大。

    Parameters
    ----------
    rows : dict[str, dict[str, np.ndarray]]
        病院の名前 → {方法: RMSE [mg/dL]。形状 (n_seeds,)}。どの病院も
        同じ方法を同じ順に持つ。
    ax : Axes or None
        棒グラフを描く Axes(None なら図を新しく作る)。

    Returns
    -------
    Figure
        病院を横に並べ、方法ごとの棒を隣り合わせた図。
    """
    fig, ax = _new_axes(ax, (7.5, 3.6))
    names = list(rows)
    methods = list(rows[names[0]])
    width = 0.8 / len(methods)
    for k, method in enumerate(methods):
        v = np.array([rows[n][method] for n in names], dtype=np.float64)
        x = np.arange(len(names)) + (k - (len(methods) - 1) / 2) * width
        mean = v.mean(axis=1)
        err = np.vstack([mean - v.min(axis=1), v.max(axis=1) - mean])
        ax.bar(
            x,
            mean,
            width,
            yerr=err,
            capsize=3,
            label=method,
            color=PALETTE[(k + 1) % len(PALETTE)],
            alpha=0.8,
        )
    ax.set_xticks(np.arange(len(names)), names, fontsize="small")
    legend = {"loc": "lower right", "fontsize": "small"}
    return _finish(fig, ax, legend, ylabel="30 分先のテスト RMSE [mg/dL]")


def plot_privacy_tradeoff(
    epsilon: np.ndarray,
    rmse: np.ndarray,
    reference: float,
    ax: Axes | None = None,
) -> Figure:
    """プライバシーの予算 ε(対数軸)と、30 分先のテスト RMSE [mg/dL]。

    Parameters
    ----------
    epsilon : np.ndarray
        窓単位の ε(正の値)。形状 (n,)
    rmse : np.ndarray
        ε ごとのテスト RMSE [mg/dL]。形状 (n,)
    reference : float
        差分プライバシーなしの同じ学習の RMSE [mg/dL](水平の破線)。
    ax : Axes or None
        描く先の Axes。None のときは新しく作る。

    Returns
    -------
    Figure
        横軸が対数の ε、縦軸が RMSE の図。
    """
    e = np.asarray(epsilon, dtype=np.float64)
    r = np.asarray(rmse, dtype=np.float64)
    if e.shape != r.shape or e.ndim != 1 or np.any(e <= 0):
        raise ValueError(
            "epsilon(正)と rmse は同じ長さの 1 次元配列にしてください"
        )
    fig, ax = _new_axes(ax, (6, 3.6))
    ax.plot(e, r, color=COLORS["blue"], marker="o", label="DP-SGD")
    ax.axhline(
        reference, color=COLORS["black"], ls="--", label="差分プライバシーなし"
    )
    ax.set_xscale("log")
    xlabel = "プライバシーの予算 ε(窓単位、対数軸)[なし]"
    ylabel = "30 分先のテスト RMSE [mg/dL]"
    legend = {"loc": "upper right", "fontsize": "small"}
    return _finish(fig, ax, legend, xlabel=xlabel, ylabel=ylabel)


def plot_uniqueness(
    minutes: np.ndarray, percent: np.ndarray, ax: Axes | None = None
) -> Figure:
    """続けて測った値の並びの長さ [分] と、1 人だけの並びの割合 [%]。

    Parameters
    ----------
    minutes, percent : np.ndarray
        並びの長さ [分] と、その長さの並びのうち 1 人にしか現れないものの
        割合 [%]。どちらも形状 (n,)
    ax : Axes or None
        折れ線を描く先(None なら新しい図)。

    Returns
    -------
    Figure
        縦軸を 0〜102 % にした折れ線の図。
    """
    fig, ax = _new_axes(ax, (6, 3.4))
    ax.plot(minutes, percent, color=COLORS["red"], marker="o")
    ax.grid(alpha=0.3)
    ax.set_ylim(0, 102)
    xlabel = "続けて測った値の並びの長さ [分]"
    ylabel = "1 人にしか現れない並び [%]"
    return _finish(fig, ax, xlabel=xlabel, ylabel=ylabel)
