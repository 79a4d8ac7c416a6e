"""信頼の章の図。どれも Figure を返し、show() も savefig() もしない。

軸には単位を付ける: 時間 [分]・[s]、血糖値 [mg/dL]、心電図 [mV]。
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..core.plotting import COLORS, _axes_list, _finish, _new_axes

METHOD_COLORS = {
    "統合勾配": COLORS["blue"],
    "遮蔽": COLORS["orange"],
    "GradientSHAP": COLORS["green"],
}  # 帰属の方法 → 色


def _check_panel_args(
    t: np.ndarray, signal: np.ndarray, attrs: dict[str, np.ndarray]
) -> None:
    """t・signal・各帰属が同じ長さの 1 次元配列か。"""
    shapes = {np.shape(t), np.shape(signal)} | {
        np.shape(a) for a in attrs.values()
    }
    if len(shapes) != 1 or np.ndim(t) != 1:
        raise ValueError(
            f"t・signal・attrs の値は同じ長さの 1 次元配列にしてください"
            f"(受け取った形状: {sorted(shapes)})"
        )


def plot_attribution(
    t: np.ndarray,
    signal: np.ndarray,
    attrs: dict[str, np.ndarray],
    labels: tuple[str, str, str],
    shade: tuple[float, float] | None = None,
    axes: tuple[Axes, Axes] | None = None,
) -> Figure:
    """上に入力の波形、下に方法ごとの帰属の棒を、同じ時間軸で描く。

    Parameters
    ----------
    t : np.ndarray
        横軸の時刻(単位は labels[0] に書く)。形状 (T,)
    signal : np.ndarray
        入力の波形(血糖値 [mg/dL] や心電図 [mV])。形状 (T,)
    attrs : dict[str, np.ndarray]
        帰属の方法 → 1 つの例の帰属。どれも形状 (T,)
    labels : tuple[str, str, str]
        (横軸, 上の縦軸, 下の縦軸) の文字(単位を含める)。
    shade : tuple[float, float] or None
        横軸の範囲 (始まり, 終わり) を薄く塗る(ラベルを決める区間など)。
    axes : tuple[Axes, Axes] or None
        描く先の上下 2 つの軸。None なら新しい図を作る。

    Returns
    -------
    Figure
        上下 2 段の図。
    """
    _check_panel_args(t, signal, attrs)
    fig, (top, bottom) = _axes_list(axes, 2, (6.4, 4.4), sharex=True)
    top.plot(t, signal, color=COLORS["black"], marker=".", lw=1)
    width = 0.8 * float(np.min(np.diff(t))) / max(len(attrs), 1)
    for k, (name, a) in enumerate(attrs.items()):
        shift = (k - (len(attrs) - 1) / 2) * width
        bottom.bar(
            t + shift, a, width, color=METHOD_COLORS.get(name), label=name
        )
    bottom.axhline(0, color="gray", lw=0.6)
    for ax in (top, bottom):
        if shade is not None:
            ax.axvspan(*shade, color=COLORS["yellow"], alpha=0.25)
    top.set_ylabel(labels[1])
    legend = {"fontsize": "small", "ncol": len(attrs)}
    return _finish(fig, bottom, legend, xlabel=labels[0], ylabel=labels[2])


def plot_randomization(
    similarity: dict[str, dict[str, float]],
    line: float,
    ax: Axes | None = None,
) -> Figure:
    """パラメータの無作為化の前後の、帰属の順位相関(方法ごとの棒)。

    Parameters
    ----------
    similarity : dict[str, dict[str, float]]
        方法 → {初期化し直した層の段階 → 順位相関の平均}。
    line : float
        本書が「変わった」とみなす相関の線(赤の破線)。
    ax : Axes or None
        描く先の軸。None なら新しい図を作る。

    Returns
    -------
    Figure
        方法ごとに段階の棒を並べた図。
    """
    fig, ax = _new_axes(ax, (6.0, 3.4))
    methods = list(similarity)
    stages = list(similarity[methods[0]])
    width = 0.8 / len(stages)
    shades = (COLORS["sky"], COLORS["blue"], COLORS["black"])
    for j, stage in enumerate(stages):
        x = np.arange(len(methods)) + (j - (len(stages) - 1) / 2) * width
        values = [similarity[m][stage] for m in methods]
        ax.bar(x, values, width, color=shades[j % 3], label=stage)
    ax.axhline(line, color=COLORS["red"], ls="--", lw=1)
    ax.set_xticks(np.arange(len(methods)), methods)
    legend = {"title": "初期化し直した層", "fontsize": "small"}
    return _finish(
        fig, ax, legend, ylim=(-0.1, 1.0), ylabel="元の帰属との順位相関"
    )


def plot_intervals(
    minutes: np.ndarray,
    target: np.ndarray,
    pred: np.ndarray,
    bands: dict[str, tuple[np.ndarray, np.ndarray]],
    ax: Axes | None = None,
) -> Figure:
    """実測・予測と、方法ごとの予測区間の帯 [mg/dL](時間 [分] に沿って)。

    低血糖のしきい値 70 mg/dL に点線を引く。

    Parameters
    ----------
    minutes : np.ndarray
        横軸の時間 [分]。形状 (n,)
    target, pred : np.ndarray
        実測の血糖値と予測 [mg/dL]。形状 (n,)
    bands : dict[str, tuple[np.ndarray, np.ndarray]]
        方法 → (下端, 上端) [mg/dL]。どちらも形状 (n,)
    ax : Axes or None
        帯と線を描き込む軸(None なら新しい図)。

    Returns
    -------
    Figure
        帯・実測・予測を描いた図。
    """
    fig, ax = _new_axes(ax, (6.4, 3.4))
    colors = (COLORS["blue"], COLORS["orange"])
    for k, (name, (lower, upper)) in enumerate(bands.items()):
        ax.fill_between(
            minutes, lower, upper, color=colors[k % 2], alpha=0.25, label=name
        )
    ax.plot(minutes, target, color=COLORS["black"], lw=1.2, label="実測")
    ax.plot(minutes, pred, color=COLORS["red"], ls="--", lw=1, label="予測")
    ax.axhline(70, color=COLORS["red"], lw=0.8, ls=":")
    legend = {"fontsize": "small", "ncol": 2}
    return _finish(
        fig, ax, legend, xlabel="時間 [分]", ylabel="血糖値 [mg/dL]"
    )


def plot_reliability(
    curves: dict[str, tuple[np.ndarray, np.ndarray]],
    ax: Axes | None = None,
) -> Figure:
    """信頼性図: 各ビンの平均の確率(横)と実際の異常の割合(縦)。

    Parameters
    ----------
    curves : dict[str, tuple[np.ndarray, np.ndarray]]
        名前 → (平均の確率, 実際の割合)。どちらも形状 (n_bins,)。
        空のビン(NaN)は描かない。
    ax : Axes or None
        曲線を重ねる軸(None なら新しい図)。

    Returns
    -------
    Figure
        対角線(完全に較正)と曲線を描いた正方形の図。
    """
    fig, ax = _new_axes(ax, (4.4, 4.2))
    ax.plot([0, 1], [0, 1], color="gray", ls=":", label="完全に較正")
    markers = ("o", "s", "^")
    for k, (name, (p, f)) in enumerate(curves.items()):
        ok = np.isfinite(p)
        ax.plot(p[ok], f[ok], marker=markers[k % 3], label=name)
    ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal")
    xlabel = "予測した異常の確率(ビンの平均)"
    ylabel = "実際に異常だった割合"
    return _finish(
        fig, ax, {"fontsize": "small"}, xlabel=xlabel, ylabel=ylabel
    )
