"""CGM の章の図。どれも Figure を返し、show() も savefig() もしない。

軸には単位を付ける: 時間 [時間]、予測する先 [分]、血糖値 [mg/dL]。
引数 ax・axes と戻り値の決まりは :mod:`medrnn.core.plotting` と同じ
(None なら新しい Figure を作り、描いた Figure を返す)。
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..core.checks import as_paired_1d
from ..core.plotting import (
    COLORS,
    _axes_list,
    _band,
    _dots,
    _finish,
    _new_axes,
)
from .data import TARGET_RANGE

STYLES = {
    "持続予測": (COLORS["orange"], ":", "s"),
    "直線の外挿": (COLORS["purple"], (0, (5, 2, 1, 2)), "D"),
    "線形 AR": (COLORS["blue"], "--", "o"),
    "RNN": (COLORS["sky"], "-", "^"),
    "LSTM": (COLORS["green"], "-.", "v"),
    "GRU": (COLORS["red"], "-", "x"),
}  # 方法 → (色, 線, 印)
DEFAULT_STYLE = (COLORS["black"], "-", ".")


def _shade_target_range(ax: Axes) -> None:
    """目標範囲 70〜180 mg/dL を薄い緑で塗り、低血糖の線 70 mg/dL を引く。"""
    low, high = TARGET_RANGE
    ax.axhspan(
        low,
        high,
        color=COLORS["green"],
        alpha=0.12,
        label=f"目標範囲 {low:.0f}〜{high:.0f} mg/dL",
    )
    ax.axhline(low, color=COLORS["red"], lw=0.8, ls="--")


def _break_at_gaps(
    hours: np.ndarray, values: np.ndarray, max_step_h: float
) -> tuple[np.ndarray, np.ndarray]:
    """間隔が max_step_h を超える所に NaN を挟み、途切れを線でつながない。"""
    h, v = as_paired_1d(
        hours, values, "時刻と値は同じ長さの 1 次元配列にしてください"
    )
    cut = np.flatnonzero(np.diff(h) > max_step_h) + 1
    return np.insert(h, cut, np.nan), np.insert(v, cut, np.nan)


def plot_cgm_trace(
    hours: np.ndarray,
    glucose: np.ndarray,
    max_step_h: float = 6 / 60,
    ax: Axes | None = None,
) -> Figure:
    """CGM の記録 [mg/dL] を時間 [時間] に沿って描き、目標範囲を塗る。

    Parameters
    ----------
    hours : np.ndarray
        測定時刻 [時間]。形状 (n,)
    glucose : np.ndarray
        血糖値 [mg/dL]。形状 (n,)
    max_step_h : float
        これを超える測定の間隔 [時間] は途切れとみなし、線を切る。
    ax : Axes or None
        描く先。

    Returns
    -------
    Figure
    """
    fig, ax = _new_axes(ax, (9, 3.2))
    h, g = _break_at_gaps(hours, glucose, max_step_h)
    _shade_target_range(ax)
    ax.plot(h, g, color=COLORS["black"], lw=1, label="CGM(5 分ごと)")
    ax.set_xticks(np.arange(0, np.nanmax(h) + 1, 12))
    ax.set_ylim(min(40.0, np.nanmin(g) - 5), max(250.0, np.nanmax(g) + 10))
    legend = {"loc": "upper right", "fontsize": "small"}
    xlabel = "記録開始からの時間 [時間]"
    return _finish(fig, ax, legend, xlabel=xlabel, ylabel="血糖値 [mg/dL]")


def plot_forecast_panels(
    hours: np.ndarray,
    actual: np.ndarray,
    panels: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]],
    xlim: tuple[float, float] | None = None,
    max_step_h: float = 6 / 60,
    axes: list[Axes] | None = None,
) -> Figure:
    """予測する先ごとのパネルに、実測の記録と各方法の予測 [mg/dL] を重ねる。

    Parameters
    ----------
    hours : np.ndarray
        実測の時刻 [時間]。形状 (n,)
    actual : np.ndarray
        実測の血糖値 [mg/dL]。形状 (n,)
    panels : dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]
        パネルの題 → (予測の対象の時刻 [時間]、{方法の名前 → 予測 [mg/dL]})。
        時刻と予測は同じ形状 (m,)
    xlim : (float, float) or None
        表示する時間の範囲 [時間](None なら全体)。
    max_step_h : float
        これを超える測定の間隔 [時間] では線を切る。
    axes : list[Axes] or None
        パネルごとの描く先。

    Returns
    -------
    Figure
    """
    n = len(panels)
    fig, axes = _axes_list(axes, n, (9, 2.8 * n), sharex=True)
    for ax, (title, (target_h, preds)) in zip(axes, panels.items()):
        _shade_target_range(ax)
        ax.plot(
            *_break_at_gaps(hours, actual, max_step_h),
            color=COLORS["black"],
            lw=2,
            label="実測",
        )
        for name, pred in preds.items():
            color, ls, _ = STYLES.get(name, DEFAULT_STYLE)
            ax.plot(
                *_break_at_gaps(target_h, pred, max_step_h),
                color=color,
                ls=ls,
                lw=1.3,
                label=name,
            )
        ax.set(title=title, ylabel="血糖値 [mg/dL]")
        if xlim is not None:
            ax.set_xlim(*xlim)
        ax.legend(loc="upper right", fontsize="small", ncols=len(preds) + 2)
    axes[-1].set_xlabel("記録開始からの時間 [時間]")
    return fig


def plot_error_by_horizon(
    horizons_min: np.ndarray,
    errors: dict[str, np.ndarray],
    spreads: dict[str, np.ndarray] | None = None,
    metric: str = "RMSE",
    ax: Axes | None = None,
) -> Figure:
    """予測する先 [分] ごとの誤差 [mg/dL]。spreads があれば ± の帯を描く。

    Parameters
    ----------
    horizons_min : np.ndarray
        予測する先 [分](5 分先、10 分先、…)。形状 (n_horizons,)
    errors : dict[str, np.ndarray]
        方法の名前 → 誤差 [mg/dL]。各形状 (n_horizons,)
    spreads : dict[str, np.ndarray] or None
        方法の名前 → 帯の半幅 [mg/dL](シード間の標準偏差など)。
    metric : str
        縦軸に書く指標の名前。
    ax : Axes or None
        描く先。

    Returns
    -------
    Figure
    """
    h = np.asarray(horizons_min, dtype=np.float64)
    fig, ax = _new_axes(ax, (7, 3.6))
    for name, values in errors.items():
        if len(values) != len(h):
            raise ValueError(
                f"{name!r} の長さ {len(values)} が予測先の数 "
                f"{len(h)} と違います"
            )
        color, ls, marker = STYLES.get(name, DEFAULT_STYLE)
        ax.plot(h, values, color=color, ls=ls, marker=marker, ms=4, label=name)
        if spreads and name in spreads:
            _band(ax, h, values, spreads[name], color=color, alpha=0.2, lw=0)
    ax.set_ylim(bottom=0)
    ax.set_xticks(h[1::2] if len(h) > 6 else h)
    legend = {"loc": "upper left", "fontsize": "small"}
    ylabel = f"{metric} [mg/dL]"
    return _finish(fig, ax, legend, xlabel="予測する先 [分]", ylabel=ylabel)


# Clarke のエラーグリッドの境界線(mg/dL): 各線は (x の並び, y の並び)
CLARKE_LINES: list[tuple[list[float], list[float]]] = [
    # A の上側
    ([0, 175 / 3], [70, 70]),
    ([175 / 3, 400 / 1.2], [70, 400]),
    # A/B と C の境目
    ([70, 70], [84, 400]),
    ([70, 290], [180, 400]),
    # E・D の境目
    ([0, 70], [180, 180]),
    ([70, 70], [0, 56]),
    # A の下側(0.8 倍)
    ([70, 400], [56, 320]),
    # C・D の下側
    ([130, 180], [0, 70]),
    ([180, 400], [70, 70]),
    # ほかの境界線
    ([180, 180], [0, 70]),
    ([240, 240], [70, 180]),
    ([240, 400], [180, 180]),
]
CLARKE_LABELS = {
    "A": [(30, 15), (320, 330)],
    "B": [(370, 230), (270, 370)],
    "C": [(160, 370), (160, 15)],
    "D": [(30, 140), (370, 120)],
    "E": [(30, 370), (370, 15)],
}  # 領域の文字を置く位置


def plot_clarke_grid(
    reference: np.ndarray,
    predicted: np.ndarray,
    title: str = "",
    limit: float = 400.0,
    ax: Axes | None = None,
) -> Figure:
    """Clarke のエラーグリッド: 横軸が実測、縦軸が予測 [mg/dL]。

    Parameters
    ----------
    reference : np.ndarray
        実測の血糖値 [mg/dL]。形状 (n,)
    predicted : np.ndarray
        予測 [mg/dL]。形状 (n,)
    title : str
        パネルの題。
    limit : float
        両軸の上限 [mg/dL]。
    ax : Axes or None
        描く先。

    Returns
    -------
    Figure
    """
    r = np.asarray(reference, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    if r.shape != p.shape:
        raise ValueError(
            f"reference {r.shape} と predicted {p.shape} の形状が違います"
        )
    fig, ax = _new_axes(ax, (4.6, 4.6))
    # 数千の点は PDF でも画像に(線と文字はベクター)
    _dots(
        ax,
        r,
        p,
        marker=".",
        ms=2,
        alpha=0.3,
        color=COLORS["blue"],
        rasterized=True,
    )
    ax.plot([0, limit], [0, limit], color="gray", ls=":", lw=0.8)  # 一致の線
    for xs, ys in CLARKE_LINES:
        ax.plot(xs, ys, color=COLORS["black"], lw=0.8)
    for zone, places in CLARKE_LABELS.items():
        for x, y in places:
            ax.text(x, y, zone, ha="center", va="center", fontsize=13)
    ax.grid(False)
    ax.set(xlim=(0, limit), ylim=(0, limit), aspect="equal", title=title)
    xlabel, ylabel = "実測の血糖値 [mg/dL]", "予測の血糖値 [mg/dL]"
    return _finish(fig, ax, xlabel=xlabel, ylabel=ylabel)


def plot_clarke_grids(
    reference: np.ndarray,
    predictions: dict[str, np.ndarray],
    axes: list[Axes] | None = None,
) -> Figure:
    """複数の予測の Clarke のエラーグリッドを横に並べる。

    Parameters
    ----------
    reference : np.ndarray
        実測の血糖値 [mg/dL]。形状 (n,)
    predictions : dict[str, np.ndarray]
        方法の名前 → 予測 [mg/dL]。各形状 (n,)
    axes : list[Axes] or None
        パネルごとの描く先。

    Returns
    -------
    Figure
    """
    width = 4.2 * len(predictions)  # 1 枚あたり 4.2 インチ
    fig, axes = _axes_list(axes, len(predictions), (width, 4.4), rows=False)
    for ax, (title, pred) in zip(axes, predictions.items()):
        plot_clarke_grid(reference, pred, title=title, ax=ax)
    return fig
