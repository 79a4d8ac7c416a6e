"""シミュレータの章の図。どれも Figure を返し、show() も savefig() もしない。

軸には単位を付ける: 時刻 [時]、血糖 [mg/dL]、炭水化物 [g]、インスリン [U]。
引数 ax・axes と戻り値の決まりは :mod:`medrnn.core.plotting` と同じ
(None なら新しい Figure を作り、描いた Figure を返す)。
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..cgm.data import TARGET_RANGE  # 目標範囲 [mg/dL](CGM の章と同じ)
from ..core.plotting import COLORS, _axes_list, _dots, _finish, _new_axes

LINE_COLORS = [
    COLORS["blue"],
    COLORS["orange"],
    COLORS["green"],
    COLORS["red"],
    COLORS["purple"],
    COLORS["sky"],
]


def _check_same_length(*arrays: np.ndarray) -> None:
    """配列の長さがそろっているかを確かめる。"""
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise ValueError(f"配列の長さがそろっていません: {sorted(lengths)}")


def plot_simulated_day(
    t_h: np.ndarray,
    glucose: np.ndarray,
    cgm: np.ndarray,
    carbs_g: np.ndarray,
    insulin_u: np.ndarray,
) -> Figure:
    """仮想患者の血糖(目標範囲つき)・食事・インスリンを縦に 3 段で描く。

    Parameters
    ----------
    t_h, glucose, cgm : np.ndarray
        時刻 [時]、真の血糖値 [mg/dL]、CGM の値(誤差つき)[mg/dL]。
        どれも形状 (n,)
    carbs_g, insulin_u : np.ndarray
        各時刻までの 5 分間の炭水化物 [g] とインスリン [U]。形状 (n,)

    Returns
    -------
    Figure
    """
    _check_same_length(t_h, glucose, cgm, carbs_g, insulin_u)
    fig, (ax_g, ax_c, ax_i) = _axes_list(
        None, 3, (9, 6), sharex=True, height_ratios=(3, 1, 1)
    )
    ax_g.axhspan(
        *TARGET_RANGE,
        color=COLORS["green"],
        alpha=0.12,
        label="目標範囲 70〜180 mg/dL",
    )
    ax_g.plot(t_h, glucose, color=COLORS["blue"], lw=1.5, label="真の血糖")
    style = {"marker": ".", "ms": 3, "color": COLORS["black"]}
    _dots(ax_g, t_h, cgm, label="CGM の測定値(誤差入り)", **style)
    ax_g.set(ylabel="血糖 [mg/dL]")
    ax_g.legend(loc="upper right", fontsize="small")
    width = (t_h[1] - t_h[0]) * 3 if len(t_h) > 1 else 0.1
    meal = carbs_g > 0
    ax_c.bar(t_h[meal], carbs_g[meal], width=width, color=COLORS["orange"])
    ax_c.set(ylabel="炭水化物 [g]")
    ax_i.bar(t_h, insulin_u, width=width, color=COLORS["purple"])
    ax_i.set(ylabel="インスリン\n[U/5 分]", xlabel="時刻 [時]")
    return fig


def plot_forecasts(
    t_h: np.ndarray,
    target: np.ndarray,
    preds: dict[str, np.ndarray],
    meal_times_h: np.ndarray | None = None,
    ax: Axes | None = None,
) -> Figure:
    """正解の CGM 値と、方法ごとの予測を重ねて描く(食事の時刻に縦線)。

    Parameters
    ----------
    t_h : np.ndarray
        予測の対象の時刻 [時]。形状 (n,)
    target : np.ndarray
        正解の CGM 値 [mg/dL]。形状 (n,)
    preds : dict[str, np.ndarray]
        方法の名前 → 予測 [mg/dL]。各形状 (n,)
    meal_times_h : np.ndarray or None
        食事の時刻 [時]。None なら縦線を描かない。
    ax : Axes or None
        描く先。

    Returns
    -------
    Figure
    """
    _check_same_length(t_h, target, *preds.values())
    fig, ax = _new_axes(ax, (9, 3.6))
    ax.axhspan(*TARGET_RANGE, color=COLORS["green"], alpha=0.10)
    ax.plot(t_h, target, color=COLORS["black"], lw=2, label="正解(CGM)")
    for (name, pred), color in zip(preds.items(), LINE_COLORS):
        ax.plot(t_h, pred, color=color, lw=1.3, label=name)
    for k, t in enumerate([] if meal_times_h is None else meal_times_h):
        ax.axvline(
            t,
            color=COLORS["orange"],
            ls=":",
            lw=1.5,
            label="食事の開始" if k == 0 else None,
        )
    legend = {"loc": "upper right", "fontsize": "small"}
    return _finish(fig, ax, legend, xlabel="時刻 [時]", ylabel="血糖 [mg/dL]")


def plot_error_curves(
    x: np.ndarray,
    curves: dict[str, np.ndarray],
    xlabel: str,
    vline: float | None = None,
    ax: Axes | None = None,
) -> Figure:
    """横軸 x ごとの RMSE [mg/dL] を、方法ごとの折れ線で描く。

    curves の名前に「血糖のみ」を含む線は破線にして、入力の違いを見やすくする。

    Parameters
    ----------
    x : np.ndarray
        横軸の値(予測する先 [min] や食事からの時間 [min])。形状 (n,)
    curves : dict[str, np.ndarray]
        方法の名前 → RMSE [mg/dL]。各形状 (n,)
    xlabel : str
        横軸のラベル(単位つき)。
    vline : float or None
        縦線を引く x の値。None なら引かない。
    ax : Axes or None
        描く先。

    Returns
    -------
    Figure
    """
    _check_same_length(x, *curves.values())
    fig, ax = _new_axes(ax, (8, 3.6))
    for (name, values), color in zip(curves.items(), LINE_COLORS):
        ls = "--" if "血糖のみ" in name else "-"
        ax.plot(x, values, color=color, ls=ls, marker="o", ms=4, label=name)
    if vline is not None:
        ax.axvline(vline, color="gray", lw=1)
    ax.set_ylim(bottom=0)
    legend = {"loc": "best", "fontsize": "small"}
    return _finish(fig, ax, legend, xlabel=xlabel, ylabel="RMSE [mg/dL]")
