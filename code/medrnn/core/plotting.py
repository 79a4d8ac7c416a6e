"""図を描く関数。どれも Figure を返し、show() も savefig() もしない。

色は色覚の多様性に配慮した Okabe–Ito の配色を使う。

描く関数の決まり(ここに 1 度だけ書き、各関数の docstring では繰り返さない):

- 引数 ``ax``(パネルが複数なら ``axes``)は描く先。None なら新しい
  Figure を作る(pyplot の状態は使わない)。
- 戻り値は描いた Figure(ax を渡したときはその Figure)。

領域ごとの図(``cgm/plots.py`` など)も同じ決まりに従い、下の
``_new_axes``・``_axes_list``・``_dots``・``_band``・``_finish`` で
図の用意・点・帯・仕上げを書く。
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

# Okabe–Ito 配色(色覚の違いがあっても区別しやすい)
COLORS = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "red": "#D55E00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
# 時間順の 3 区間(訓練・検証・テスト)の名前と色(心電図とバイタルの図で共通)
SEGMENT_NAMES = {"train": "訓練", "val": "検証", "test": "テスト"}
SEGMENT_COLORS = {
    "train": COLORS["blue"],
    "val": COLORS["green"],
    "test": COLORS["orange"],
}


def setup_japanese_font() -> str:
    """matplotlib で日本語が表示できるようにし、使ったパッケージ名を返す。

    japanize-matplotlib(distutils が必要で Python 3.12 以降では
    import できない)を優先し、だめなら matplotlib-fontja を使う。

    Returns
    -------
    str
        使ったパッケージの名前。
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import japanize_matplotlib  # noqa: F401
        name = "japanize-matplotlib"
    except ImportError:
        import matplotlib_fontja  # noqa: F401

        name = "matplotlib-fontja"
    matplotlib.rcParams.update(
        {
            "axes.unicode_minus": False,  # マイナス記号の文字化けを防ぐ
            "pdf.fonttype": 42,  # PDF にフォントを TrueType で埋め込む
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "font.size": 11,  # ウェブで縮めて表示しても読める大きさ
            "svg.hashsalt": "medrnn",  # SVG の中の ID を毎回同じにする
            "axes.grid": True,
            "grid.alpha": 0.3,
        }
    )
    return name


def use_book_figure_formats() -> None:
    """ノートブックの図を SVG(ウェブ用のベクター。高精細の画面でも
    ぼけない)と PDF(印刷用のベクター)の両方で出す。
    """
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("svg", "pdf")


def _new_axes(
    ax: Axes | None, figsize: tuple[float, float]
) -> tuple[Figure, Axes]:
    """ax が与えられなければ新しい Figure と Axes を作る。

    pyplot の状態は使わない。
    """
    if ax is not None:
        # 本書の図は SubFigure を使わないので、ax.figure は Figure
        return ax.figure, ax  # type: ignore[return-value]
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _axes_list(
    axes: Sequence[Axes] | None,
    n: int,
    figsize: tuple[float, float],
    rows: bool = True,
    **subplots_kw: Any,
) -> tuple[Figure, list[Axes]]:
    """n 枚のパネル(rows=True なら縦、False なら横に並べる)。

    axes が与えられればその n 枚を使い、なければ新しい Figure を作る。
    subplots_kw は Figure.subplots へ渡す(sharex など)。
    """
    if axes is not None:
        if len(axes) != n:
            raise ValueError(
                f"axes は {n} 枚にしてください(受け取った数: {len(axes)})"
            )
        # 本書の図は SubFigure を使わないので、axes[0].figure は Figure
        return axes[0].figure, list(axes)  # type: ignore[return-value]
    fig = Figure(figsize=figsize, layout="constrained")
    shape = (n, 1) if rows else (1, n)
    return fig, list(np.atleast_1d(fig.subplots(*shape, **subplots_kw)))


def _dots(ax: Axes, x: ArrayLike, y: ArrayLike, **style: Any) -> None:
    """線でつながない点(測定値や印)を描く。style は Axes.plot へ渡す。"""
    ax.plot(x, y, ls="", **style)


def _band(
    ax: Axes,
    x: ArrayLike,
    center: np.ndarray,
    half: np.ndarray,
    **style: Any,
) -> None:
    """center ± half の帯を塗る(平均 ± 標準偏差など)。"""
    ax.fill_between(x, center - half, center + half, **style)


def _finish(
    fig: Figure, ax: Axes, legend: dict[str, Any] | None = None, **props: Any
) -> Figure:
    """軸を仕上げて fig を返す: props(xlabel など)を ax.set へ渡し、
    legend が None でなければ ax.legend(**legend) で凡例を出す。
    """
    ax.set(**props)
    if legend is not None:
        ax.legend(**legend)
    return fig


def shade_segments(
    ax: Axes,
    bounds_s: dict[str, tuple[float, float]],
    alpha: float,
    with_times: bool = True,
    legend: bool = True,
    **kwargs: float,
) -> None:
    """時間順の区間(名前 → (始まり, 終わり) [s])を色の帯で示す。

    Parameters
    ----------
    ax : Axes
        描く先。
    bounds_s : dict[str, tuple[float, float]]
        区間の名前 → (始まり, 終わり) [s]。
    alpha : float
        帯の不透明度(0〜1)。
    with_times : bool
        True なら凡例に区間の時刻も書く。
    legend : bool
        False なら凡例に出さない。
    **kwargs : float
        axvspan にそのまま渡す(例: lw=0)。
    """
    for name, (start, stop) in bounds_s.items():
        label = SEGMENT_NAMES[name]
        if with_times:
            label += f"({start:.0f}〜{stop:.0f} s)"
        ax.axvspan(
            start,
            stop,
            color=SEGMENT_COLORS[name],
            alpha=alpha,
            label=label if legend else None,
            **kwargs,
        )


def plot_series(
    t: np.ndarray,
    series: np.ndarray,
    n_train: int | None = None,
    ax: Axes | None = None,
    xlabel: str = "時刻 t",
    ylabel: str = "値(任意単位)",
) -> Figure:
    """時系列を描き、n_train があれば訓練とテストの境目を示す。

    Parameters
    ----------
    t, series : np.ndarray
        時刻と値。どちらも形状 (n,)
    n_train : int or None
        訓練部分の長さ。None なら境目を描かない。
    ax : Axes or None
        描く先。
    xlabel, ylabel : str
        軸のラベル(単位つき)。

    Returns
    -------
    Figure
    """
    fig, ax = _new_axes(ax, (8, 3))
    if n_train is None:
        ax.plot(t, series, color=COLORS["blue"], lw=1)
    else:
        ax.plot(
            t[:n_train],
            series[:n_train],
            color=COLORS["blue"],
            lw=1,
            label="訓練",
        )
        ax.plot(
            t[n_train:],
            series[n_train:],
            color=COLORS["orange"],
            lw=1,
            label="テスト",
        )
        ax.axvline(t[n_train], color="gray", ls="--", lw=1)
        ax.legend(loc="upper right")
    return _finish(fig, ax, xlabel=xlabel, ylabel=ylabel)


def _noise_floor_line(ax: Axes, floor: float) -> None:
    """ノイズフロア(これ以上は下がらない誤差)の水平線を描く。"""
    ax.axhline(
        floor,
        color=COLORS["black"],
        ls=":",
        lw=1,
        label=f"ノイズフロア σ² = {floor:.2f}",
    )


def plot_loss_curve(
    train_loss: list[float],
    val_loss: list[float] | None = None,
    ax: Axes | None = None,
    logy: bool = False,
    floor: float | None = None,
) -> Figure:
    """エポックごとの損失(学習曲線)を描く。floor はノイズフロアの水平線。

    Parameters
    ----------
    train_loss : list[float]
        エポックごとの訓練損失。長さ n_epochs
    val_loss : list[float] or None
        エポックごとの検証損失。None なら描かない。
    ax : Axes or None
        描く先。
    logy : bool
        True なら縦軸を対数にする。
    floor : float or None
        ノイズフロア(MSE の下限)の水平線の高さ。None なら描かない。

    Returns
    -------
    Figure
    """
    fig, ax = _new_axes(ax, (6, 3.5))
    epochs = np.arange(1, len(train_loss) + 1)
    ax.plot(epochs, train_loss, color=COLORS["blue"], label="訓練損失")
    if val_loss:
        ax.plot(
            epochs, val_loss, color=COLORS["orange"], ls="--", label="検証損失"
        )
    if floor is not None:
        _noise_floor_line(ax, floor)
    if logy:
        ax.set_yscale("log")
    return _finish(fig, ax, {}, xlabel="エポック", ylabel="平均二乗誤差 (MSE)")


# plot_predictions の線の形: 実測値・予測値・真の波形の順
_PREDICTION_STYLES: tuple[dict, ...] = (
    {"color": COLORS["blue"], "marker": "o", "ms": 3, "lw": 1},
    {"color": COLORS["red"], "marker": "s", "ms": 3, "lw": 1.5, "ls": "--"},
    {"color": COLORS["black"], "lw": 1, "ls": ":"},
)


def plot_predictions(
    t: np.ndarray,
    actual: np.ndarray,
    predicted: np.ndarray,
    ax: Axes | None = None,
    truth: np.ndarray | None = None,
    xlabel: str = "時刻 t",
) -> Figure:
    """テストデータでの実測値と予測値を重ねる。

    Parameters
    ----------
    t, actual, predicted : np.ndarray
        時刻・実測値・予測値。どれも形状 (n,)
    ax : Axes or None
        描く先。
    truth : np.ndarray or None
        ノイズのない真の波形。形状 (n,)。None なら描かない。
    xlabel : str
        横軸のラベル。

    Returns
    -------
    Figure
    """
    fig, ax = _new_axes(ax, (8, 3.5))
    lines = [("実測値(ノイズあり)", actual), ("予測値", predicted)]
    if truth is not None:
        lines.append(("真の波形 sin(t)", truth))
    for (label, y), style in zip(lines, _PREDICTION_STYLES):
        ax.plot(t, y, **style, label=label)
    legend = {"loc": "upper right", "fontsize": "small"}
    return _finish(fig, ax, legend, xlabel=xlabel, ylabel="値(任意単位)")


def plot_activations(x: np.ndarray, ax: Axes | None = None) -> Figure:
    """tanh・シグモイドとその導関数を並べて描く。

    Parameters
    ----------
    x : np.ndarray
        横軸の値(活性化関数への入力)。形状 (n,)
    ax : Axes or None
        描く先。

    Returns
    -------
    Figure
    """
    fig, ax = _new_axes(ax, (7, 4))
    tanh = np.tanh(x)
    sigmoid = 1 / (1 + np.exp(-x))
    ax.plot(x, tanh, color=COLORS["blue"], label="tanh(x)")
    ax.plot(
        x,
        1 - tanh**2,
        color=COLORS["blue"],
        ls="--",
        label="tanh の導関数 1 − tanh²(x)",
    )
    ax.plot(x, sigmoid, color=COLORS["orange"], label="シグモイド σ(x)")
    ax.plot(
        x,
        sigmoid * (1 - sigmoid),
        color=COLORS["orange"],
        ls="--",
        label="σ の導関数 σ(x)(1 − σ(x))",
    )
    ax.axhline(0, color="gray", lw=0.8)
    return _finish(
        fig, ax, {"fontsize": "small"}, xlabel="入力 x", ylabel="出力"
    )


def plot_bars(
    labels: list[str],
    values: list[float],
    errors: list[float] | None = None,
    ax: Axes | None = None,
    ylabel: str = "テスト MSE",
    floor: float | None = None,
) -> Figure:
    """手法ごとの値を棒グラフで並べる(errors は標準偏差のエラーバー)。

    Parameters
    ----------
    labels : list[str]
        手法の名前。長さ n_methods
    values : list[float]
        棒の高さ。長さ n_methods
    errors : list[float] or None
        エラーバー(標準偏差)。None なら描かない。
    ax : Axes or None
        描く先。
    ylabel : str
        縦軸のラベル。
    floor : float or None
        ノイズフロアの水平線の高さ。None なら描かない。

    Returns
    -------
    Figure
    """
    fig, ax = _new_axes(ax, (7, 3.5))
    palette = list(COLORS.values())
    ax.bar(
        labels,
        values,
        yerr=errors,
        capsize=4,
        color=[palette[i % len(palette)] for i in range(len(labels))],
    )
    if floor is not None:
        _noise_floor_line(ax, floor)
        ax.legend()
    return _finish(fig, ax, ylabel=ylabel)


def _arrow(
    ax: Axes,
    start: tuple[float, float],
    end: tuple[float, float],
    color: str,
    text: str = "",
    offset: tuple[float, float] = (0, 0),
    **kwargs,
) -> None:
    """start から end へ矢印を引き、途中に text を添える(図解用)。"""
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        arrowprops={
            "arrowstyle": "-|>",
            "color": color,
            "lw": 1.6,
            "shrinkA": 0,
            "shrinkB": 0,
            **kwargs,
        },
    )
    if text:
        mid = (
            (start[0] + end[0]) / 2 + offset[0],
            (start[1] + end[1]) / 2 + offset[1],
        )
        ax.text(*mid, text, ha="center", va="center", color=color, fontsize=11)


def plot_unrolled_rnn(n_steps: int = 3, ax: Axes | None = None) -> Figure:
    """RNN のループ(左)と、それを時間方向に展開した姿(右)の図解。

    各時刻のセルが入力 x_t と前の隠れ状態 h_{t-1} を受け取り、
    新しい隠れ状態 h_t を次の時刻へ渡し、出力 y_t を出す様子を描く。

    Parameters
    ----------
    n_steps : int
        展開して描く時刻の数。
    ax : Axes or None
        描く先。

    Returns
    -------
    Figure
    """
    if n_steps < 1:
        raise ValueError(
            f"n_steps は 1 以上にしてください(受け取った値: {n_steps})"
        )
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig, ax = _new_axes(ax, (2.4 + 2.2 * n_steps, 3.4))
    blue, orange, green = COLORS["blue"], COLORS["orange"], COLORS["green"]

    def cell(x: float, label: str) -> None:
        ax.add_patch(
            FancyBboxPatch(
                (x - 0.45, -0.35),
                0.9,
                0.7,
                boxstyle="round,pad=0.05",
                fc="#E8F1F8",
                ec=blue,
                lw=1.8,
            )
        )
        ax.text(x, 0, label, ha="center", va="center", fontsize=10)

    def io(x: float, sub: str) -> None:
        _arrow(ax, (x, -1.25), (x, -0.42), orange)
        ax.text(
            x,
            -1.45,
            f"$x_{{{sub}}}$",
            ha="center",
            va="center",
            color=orange,
            fontsize=13,
        )
        _arrow(ax, (x, 0.42), (x, 1.2), green)
        ax.text(
            x,
            1.42,
            f"$y_{{{sub}}}$",
            ha="center",
            va="center",
            color=green,
            fontsize=13,
        )

    # 左: 折りたたんだ姿(自分自身へ戻るループ)
    cell(0, "RNN\nセル")
    io(0, "t")
    ax.add_patch(
        FancyArrowPatch(
            (0.5, 0.2),
            (0.5, -0.2),
            connectionstyle="arc3,rad=-1.6",
            arrowstyle="-|>",
            mutation_scale=12,
            color=blue,
            lw=1.6,
        )
    )
    ax.text(1.05, 0.0, "$h$", color=blue, fontsize=13, va="center")
    ax.text(1.9, 0.3, "展開", ha="center", va="center", fontsize=11)
    ax.annotate(
        "",
        xy=(2.25, 0),
        xytext=(1.55, 0),
        arrowprops={"arrowstyle": "simple", "color": "gray"},
    )
    ax.text(0, -1.95, "ループで書くと", ha="center", fontsize=10)

    # 右: 時間方向に展開した姿
    subs = (
        ["t-1", "t", "t+1"]
        if n_steps == 3
        else [str(i + 1) for i in range(n_steps)]
    )
    xs = [4.0 + 2.1 * i for i in range(n_steps)]
    for k, (x, sub) in enumerate(zip(xs, subs)):
        cell(x, f"RNN セル\n(時刻 ${sub}$)")
        io(x, sub)
        prev = (
            "t-2" if n_steps == 3 and k == 0 else (subs[k - 1] if k else "0")
        )
        _arrow(
            ax, (x - 1.55, 0), (x - 0.5, 0), blue, f"$h_{{{prev}}}$", (0, 0.22)
        )
    _arrow(
        ax,
        (xs[-1] + 0.5, 0),
        (xs[-1] + 1.4, 0),
        blue,
        f"$h_{{{subs[-1]}}}$",
        (0, 0.22),
    )
    ax.text(
        (xs[0] + xs[-1]) / 2,
        -1.95,
        "時間方向に展開すると(どの時刻も同じ重みを使う)",
        ha="center",
        fontsize=10,
    )
    ax.set(xlim=(-0.7, xs[-1] + 1.6), ylim=(-2.15, 1.7), aspect="equal")
    ax.axis("off")
    return fig


def plot_norms_by_lag(
    x: np.ndarray,
    curves: dict[str, np.ndarray],
    ax: Axes | None = None,
    xlabel: str = "距離 k(ステップ)",
    ylabel: str = "勾配のノルム",
    logy: bool = True,
) -> Figure:
    """勾配(ヤコビ行列)のノルムを時刻・距離に対して描く。

    Parameters
    ----------
    x : np.ndarray
        横軸(距離や時刻)。形状 (n,)
    curves : dict[str, np.ndarray]
        凡例の名前 → ノルム。各形状 (n,)
    ax : Axes or None
        描く先。
    xlabel, ylabel : str
        軸のラベル。
    logy : bool
        True なら縦軸を対数にする(指数関数的な減少・増加が直線に見える)。

    Returns
    -------
    Figure
    """
    fig, ax = _new_axes(ax, (6.5, 3.6))
    palette = [
        COLORS["blue"],
        COLORS["red"],
        COLORS["green"],
        COLORS["purple"],
    ]
    markers = ["o", "s", "^", "D"]
    for i, (label, values) in enumerate(curves.items()):
        if len(values) != len(x):
            raise ValueError(
                f"{label!r} の長さ {len(values)} が"
                f" x の長さ {len(x)} と違います"
            )
        ax.plot(
            x,
            values,
            color=palette[i % 4],
            marker=markers[i % 4],
            ms=4,
            lw=1.4,
            label=label,
        )
    if logy:
        ax.set_yscale("log")
    return _finish(
        fig, ax, {"fontsize": "small"}, xlabel=xlabel, ylabel=ylabel
    )


def _lstm_gate_box(
    ax: Axes, x: float, y: float, symbol: str, name: str, color: str
) -> None:
    """LSTM 図のゲート(活性化関数の箱)を 1 つ描く。"""
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(
        FancyBboxPatch(
            (x - 0.6, y - 0.45),
            1.2,
            0.9,
            boxstyle="round,pad=0.05",
            fc=color,
            ec="black",
            lw=1,
            alpha=0.9,
            zorder=3,
        )
    )
    ax.text(
        x, y + 0.13, symbol, ha="center", va="center", fontsize=12, zorder=4
    )
    ax.text(x, y - 0.22, name, ha="center", va="center", fontsize=8, zorder=4)


def _lstm_op_node(ax: Axes, x: float, y: float, symbol: str) -> None:
    """LSTM 図の要素ごとの演算(× や +、tanh)を丸で描く。"""
    from matplotlib.patches import Ellipse

    width = 0.9 if len(symbol) > 1 else 0.5
    ax.add_patch(
        Ellipse((x, y), width, 0.5, fc="white", ec="black", lw=1, zorder=3)
    )
    ax.text(
        x,
        y,
        symbol,
        ha="center",
        va="center",
        fontsize=9 if len(symbol) > 1 else 13,
        zorder=4,
    )


def _lstm_arrow(
    ax: Axes,
    points: list[tuple[float, float]],
    color: str = "black",
    lw: float = 1.3,
) -> None:
    """折れ線の矢印(最後の区間に矢じり)を描く。"""
    xs, ys = zip(*points)
    ax.plot(
        xs[:-1], ys[:-1], color=color, lw=lw, zorder=2, solid_capstyle="butt"
    )
    ax.annotate(
        "",
        xy=points[-1],
        xytext=points[-2],
        zorder=2,
        arrowprops={
            "arrowstyle": "-|>",
            "color": color,
            "lw": lw,
            "shrinkA": 0,
            "shrinkB": 0,
        },
    )


def plot_lstm_cell(ax: Axes | None = None) -> Figure:
    """LSTM セル 1 時刻分の構造図(セル状態の線と 4 つのゲート)を描く。

    Parameters
    ----------
    ax : Axes or None
        描く先。

    Returns
    -------
    Figure
    """
    from matplotlib.patches import FancyBboxPatch

    fig, ax = _new_axes(ax, (9, 5.4))
    ax.add_patch(
        FancyBboxPatch(
            (1.4, 0.9),
            9.4,
            5.4,
            fc="#F4F4F4",
            boxstyle="round,pad=0.1",
            ec="gray",
            lw=1,
            zorder=0,
        )
    )
    top, bus, gate_y = 5.5, 1.5, 2.9
    # セル状態(長期記憶の線): 左から右へ、× で忘れ、+ で書き足す
    _lstm_arrow(ax, [(0.2, top), (3.0 - 0.25, top)], COLORS["blue"], 2.5)
    _lstm_arrow(
        ax, [(3.0 + 0.25, top), (6.2 - 0.25, top)], COLORS["blue"], 2.5
    )
    _lstm_arrow(ax, [(6.2 + 0.25, top), (12.4, top)], COLORS["blue"], 2.5)
    _lstm_op_node(ax, 3.0, top, "×")
    _lstm_op_node(ax, 6.2, top, "+")
    # 入力の線: h_{t-1} と x_t を束ねて、4 つのゲートに配る
    _lstm_arrow(ax, [(0.2, bus), (1.2, bus)])
    ax.plot([1.2, 7.8], [bus, bus], color="black", lw=1.3, zorder=2)
    _lstm_arrow(ax, [(2.2, -0.2), (2.2, bus)])
    gates = [
        (3.0, r"$\sigma$", "忘却ゲート $f_t$", COLORS["sky"]),
        (4.6, r"$\sigma$", "入力ゲート $i_t$", COLORS["sky"]),
        (6.2, r"$\tanh$", r"候補 $\tilde{C}_t$", COLORS["yellow"]),
        (7.8, r"$\sigma$", "出力ゲート $o_t$", COLORS["sky"]),
    ]
    for x, symbol, name, color in gates:
        _lstm_arrow(ax, [(x, bus), (x, gate_y - 0.5)])
        ax.plot(x, bus, "o", color="black", ms=4, zorder=3)
        _lstm_gate_box(ax, x, gate_y, symbol, name, color)
    _lstm_arrow(ax, [(3.0, gate_y + 0.5), (3.0, top - 0.25)])  # f_t → ×
    _lstm_op_node(ax, 6.2, 4.3, "×")  # i_t ⊙ C̃_t
    _lstm_arrow(ax, [(4.6, gate_y + 0.5), (4.6, 4.3), (6.2 - 0.25, 4.3)])
    _lstm_arrow(ax, [(6.2, gate_y + 0.5), (6.2, 4.3 - 0.25)])
    _lstm_arrow(ax, [(6.2, 4.3 + 0.25), (6.2, top - 0.25)])
    # 出力: tanh(C_t) に o_t を掛けて h_t を作る
    _lstm_arrow(ax, [(9.3, top), (9.3, 4.3 + 0.25)])
    _lstm_op_node(ax, 9.3, 4.3, "tanh")
    _lstm_arrow(ax, [(9.3, 4.3 - 0.25), (9.3, gate_y + 0.25)])
    _lstm_arrow(ax, [(7.8 + 0.65, gate_y), (9.3 - 0.25, gate_y)])
    _lstm_op_node(ax, 9.3, gate_y, "×")
    _lstm_arrow(
        ax, [(9.3, gate_y - 0.25), (9.3, bus), (12.4, bus)], COLORS["red"], 2
    )
    labels = [
        (0.2, top + 0.35, r"$C_{t-1}$", "left"),
        (12.4, top + 0.35, r"$C_t$", "right"),
        (0.2, bus + 0.3, r"$h_{t-1}$", "left"),
        (12.4, bus + 0.3, r"$h_t$(出力・次の時刻へ)", "right"),
        (2.35, -0.1, r"入力 $x_t$", "left"),
    ]
    for x, y, text, align in labels:
        ax.text(x, y, text, ha=align, va="center", fontsize=12)
    notes = [
        (3.0, top + 0.45, "忘れる"),
        (6.2, top + 0.45, "書き足す"),
        (10.2, gate_y, "取り出す"),
        (6.2, top + 1.25, "セル状態(長期記憶の線)"),
    ]
    for x, y, text in notes:
        ax.text(
            x,
            y,
            text,
            ha="center",
            va="center",
            fontsize=9,
            color=COLORS["blue"] if "セル" in text else "dimgray",
        )
    ax.set(xlim=(0, 12.6), ylim=(-0.4, 7.1), aspect="equal")
    ax.axis("off")
    return fig


def plot_gradient_descent(
    w: np.ndarray,
    loss: np.ndarray,
    paths: dict[str, tuple[np.ndarray, np.ndarray]],
    ax: Axes | None = None,
) -> Figure:
    """1 次元の損失の谷と、学習率ごとの勾配降下の足どりを描く。

    Parameters
    ----------
    w : np.ndarray
        パラメータの格子。形状 (n,)
    loss : np.ndarray
        各 w での損失 L(w)。形状 (n,)
    paths : dict[str, tuple[np.ndarray, np.ndarray]]
        凡例の文字列 → (各ステップのパラメータ w_k, 損失 L(w_k))。
        各形状 (n_steps,)
    ax : Axes or None
        描く先。

    Returns
    -------
    Figure
    """
    if np.shape(w) != np.shape(loss):
        raise ValueError(
            f"w と loss の形状が違います: {np.shape(w)}, {np.shape(loss)}"
        )
    fig, ax = _new_axes(ax, (7, 3.8))
    ax.plot(w, loss, color="gray", lw=1.5, label="損失 L(w)")
    palette = [
        COLORS["blue"],
        COLORS["green"],
        COLORS["red"],
        COLORS["purple"],
    ]
    for k, (label, (w_k, loss_k)) in enumerate(paths.items()):
        ax.plot(
            w_k,
            loss_k,
            marker="o",
            ms=4,
            lw=1,
            color=palette[k % len(palette)],
            label=label,
        )
    ax.set(xlim=(w.min(), w.max()), ylim=(-0.05 * loss.max(), loss.max()))
    xlabel, ylabel = "パラメータ w", "損失 L(w)"
    return _finish(
        fig, ax, {"fontsize": "small"}, xlabel=xlabel, ylabel=ylabel
    )


def plot_standardization(
    hours: np.ndarray,
    raw: np.ndarray,
    scaled: np.ndarray,
    names: list[str],
    n_train: int,
    axes: tuple[Axes, Axes] | None = None,
) -> Figure:
    """単位の違うバイタルの、標準化の前(左)と後(右)を並べる。

    Parameters
    ----------
    hours : np.ndarray
        時刻 [h]。形状 (n,)
    raw, scaled : np.ndarray
        元の単位の値と標準化した値。どちらも形状 (n, n_features)
    names : list[str]
        列の名前(単位つき)。長さ n_features
    n_train : int
        訓練部分の長さ。
    axes : (Axes, Axes) or None
        描く先の 2 つ。

    Returns
    -------
    Figure
    """
    raw, scaled = np.asarray(raw), np.asarray(scaled)
    if raw.shape != scaled.shape or raw.shape != (len(hours), len(names)):
        raise ValueError(
            f"raw と scaled は形状 ({len(hours)}, {len(names)}) に"
            f"してください(受け取った形状: {raw.shape}, {scaled.shape})"
        )
    if not 0 < n_train < len(hours):
        raise ValueError(
            f"n_train は 1〜{len(hours) - 1} にしてください"
            f"(受け取った値: {n_train})"
        )
    fig, (left, right) = _axes_list(axes, 2, (9, 3.4), rows=False)
    palette = [COLORS["red"], COLORS["blue"], COLORS["green"]]
    for j, name in enumerate(names):
        color = palette[j % len(palette)]
        left.plot(hours, raw[:, j], color=color, label=name)
        right.plot(hours, scaled[:, j], color=color, label=name.split(" [")[0])
    titles = {
        "標準化の前": "測定値(それぞれの単位)",
        "標準化の後(訓練部分の平均・標準偏差で)": "標準化した値 [標準偏差]",
    }
    for ax, (title, ylabel) in zip((left, right), titles.items()):
        ax.axvline(hours[n_train], color="gray", ls="--", lw=1)
        ax.legend(fontsize="small", loc="best")
        ax.set(xlabel="経過時間 [時間]", ylabel=ylabel, title=title)
    return fig


# 長期依存性の章(gru.md)で使う図。モデルごとの色と印は、どの図でも
# 辞書に並べた順に次の表から割り当てる(同じ順に並べれば同じ色になる)。
_SERIES_STYLES = [
    (COLORS["blue"], "o"),
    (COLORS["orange"], "s"),
    (COLORS["green"], "^"),
    (COLORS["red"], "D"),
    (COLORS["purple"], "v"),
    (COLORS["sky"], "P"),
    (COLORS["black"], "X"),
]


def _series_style(i: int) -> dict:
    """i 番目の系列の色と印。"""
    color, marker = _SERIES_STYLES[i % len(_SERIES_STYLES)]
    return {"color": color, "marker": marker}


def figure_row(
    ncols: int, width: float = 9.0, height: float = 3.6
) -> tuple[Figure, list[Axes]]:
    """横に ncols 個のパネルを並べた Figure と Axes のリスト。

    pyplot は使わない。

    Parameters
    ----------
    ncols : int
        パネルの数。
    width, height : float
        図の幅と高さ [inch]。

    Returns
    -------
    fig : Figure
    axes : list[Axes]
        長さ ncols
    """
    if ncols < 1:
        raise ValueError(
            f"ncols は 1 以上にしてください(受け取った値: {ncols})"
        )
    return _axes_list(None, ncols, (width, height), rows=False)


def plot_gradient_by_distance(
    norms: dict[str, np.ndarray],
    ax: Axes | None = None,
    relative: bool = True,
    title: str | None = None,
) -> Figure:
    """時刻ごとの勾配ノルムを、損失からの距離(ステップ数)に対して描く。

    縦軸は対数。

    Parameters
    ----------
    norms : dict[str, np.ndarray]
        モデル名 → 形状 (seq_len,) の配列(最後の要素が損失に最も近い時刻)。
    ax : Axes or None
        描く先。
    relative : bool
        True なら距離 0 の値で割り、1 から始まる比にする。
    title : str or None
        パネルの題。

    Returns
    -------
    Figure
    """
    fig, ax = _new_axes(ax, (6.5, 3.8))
    for i, (name, values) in enumerate(norms.items()):
        v = np.asarray(values, dtype=np.float64)[::-1]  # 距離 0, 1, 2, ...
        if v.ndim != 1 or len(v) < 2:
            raise ValueError(
                f"{name!r} は長さ 2 以上の 1 次元配列にしてください"
                f"(受け取った形状: {v.shape})"
            )
        if relative:
            v = v / v[0]
        ax.plot(
            np.arange(len(v)),
            v,
            lw=1.5,
            ms=4,
            markevery=max(1, len(v) // 8),
            label=name,
            **_series_style(i),
        )
    ax.set_yscale("log")
    ylabel = (
        "勾配の大きさ(距離 0 を 1 とした比)" if relative else "勾配の大きさ"
    )
    if title:
        ax.set_title(title)
    xlabel = "損失までの距離 k [ステップ]"
    return _finish(
        fig, ax, {"fontsize": "small"}, xlabel=xlabel, ylabel=ylabel
    )


def plot_lag_accuracy(
    lags: list[int],
    accuracy: dict[str, np.ndarray],
    ax: Axes | None = None,
    chance: float = 0.5,
) -> Figure:
    """遅れごとの正解率。線はシードの平均、薄い点は各シードの値。

    Parameters
    ----------
    lags : list[int]
        遅れ [ステップ]。長さ n_lags
    accuracy : dict[str, np.ndarray]
        モデル名 → 形状 (n_lags, n_seeds) の正解率。
    ax : Axes or None
        描く先。
    chance : float
        当て推量の正解率(水平線で示す)。

    Returns
    -------
    Figure
    """
    fig, ax = _new_axes(ax, (7, 4))
    lags_arr = np.asarray(lags, dtype=np.float64)
    names = list(accuracy)
    for i, name in enumerate(names):
        acc = np.asarray(accuracy[name], dtype=np.float64)
        if acc.ndim != 2 or acc.shape[0] != len(lags):
            raise ValueError(
                f"{name!r} は形状 ({len(lags)}, シード数) にしてください"
                f"(受け取った形状: {acc.shape})"
            )
        style = _series_style(i)
        # 点が重ならないよう横にずらす
        shift = 1.0 + 0.03 * (i - (len(names) - 1) / 2)
        ax.plot(
            lags_arr * shift,
            acc.mean(axis=1),
            lw=1.6,
            ms=6,
            label=name,
            **style,
        )
        for j in range(acc.shape[1]):
            ax.scatter(
                lags_arr * shift,
                acc[:, j],
                s=14,
                alpha=0.35,
                color=style["color"],
                marker=style["marker"],
                lw=0,
            )
    ax.axhline(
        chance, color="gray", ls=":", lw=1, label=f"当て推量 ({chance:.1f})"
    )
    ax.set_xscale("log")
    ax.set_xticks(lags_arr, [str(lag) for lag in lags])
    ax.minorticks_off()
    ax.set_ylim(0.4, 1.03)
    xlabel = "遅れ(印から答えるまでのステップ数)"
    legend = {"fontsize": "small", "loc": "lower left"}
    return _finish(fig, ax, legend, xlabel=xlabel, ylabel="テスト正解率")


def plot_step_curves(
    curves: dict[str, np.ndarray],
    ax: Axes | None = None,
    ylabel: str = "値",
    logy: bool = True,
    hline: float | None = None,
    hline_label: str | None = None,
) -> Figure:
    """更新の回数(ステップ)ごとの値を、系列ごとに線で描く。

    Parameters
    ----------
    curves : dict[str, np.ndarray]
        凡例の名前 → 形状 (n_steps,) の値。
    ax : Axes or None
        描く先。
    ylabel : str
        縦軸のラベル。
    logy : bool
        True なら縦軸を対数にする。
    hline : float or None
        水平線の高さ。None なら描かない。
    hline_label : str or None
        水平線の凡例。

    Returns
    -------
    Figure
    """
    fig, ax = _new_axes(ax, (6, 3.6))
    for i, (name, values) in enumerate(curves.items()):
        v = np.asarray(values, dtype=np.float64)
        ax.plot(
            np.arange(1, len(v) + 1),
            v,
            lw=1.4,
            ms=3,
            markevery=max(1, len(v) // 10),
            label=name,
            **_series_style(i),
        )
    if hline is not None:
        ax.axhline(hline, color="gray", ls=":", lw=1, label=hline_label)
    if logy:
        ax.set_yscale("log")
    xlabel = "更新の回数 [回]"
    return _finish(
        fig, ax, {"fontsize": "small"}, xlabel=xlabel, ylabel=ylabel
    )


def plot_gate_traces(
    t: np.ndarray,
    series: np.ndarray,
    traces: dict[str, np.ndarray],
    units: list[int],
    xlabel: str = "時刻 t",
) -> Figure:
    """入力系列(いちばん上)と、ゲートやセル状態の時間変化を縦に並べる。

    Parameters
    ----------
    t : np.ndarray
        時刻。形状 (seq_len,)
    series : np.ndarray
        入力系列。形状 (seq_len,)
    traces : dict[str, np.ndarray]
        パネルの名前 → 形状 (seq_len, hidden_size) の配列。
    units : list[int]
        描く隠れユニット(列)の番号。
    xlabel : str
        横軸のラベル。

    Returns
    -------
    Figure
    """
    n = len(traces) + 1
    fig, axes = _axes_list(None, n, (8, 1.6 * n + 0.6), sharex=True)
    axes[0].plot(t, series, color=COLORS["black"], lw=1)
    axes[0].set_ylabel("入力\n(任意単位)")
    for ax, (name, values) in zip(axes[1:], traces.items()):
        values = np.asarray(values)
        if values.shape[0] != len(t):
            raise ValueError(
                f"{name!r} の長さ {values.shape[0]} が"
                f" t の長さ {len(t)} と違います"
            )
        for i, unit in enumerate(units):
            ax.plot(
                t,
                values[:, unit],
                lw=1.2,
                color=_series_style(i)["color"],
                label=f"ユニット {unit}",
            )
        if values.min() >= 0 and values.max() <= 1:
            ax.set_ylim(-0.03, 1.03)
        ax.set_ylabel(name)
    axes[1].legend(fontsize="small", ncols=len(units), loc="upper right")
    axes[-1].set_xlabel(xlabel)
    return fig
