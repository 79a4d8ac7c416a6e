"""対応のある比較: 2 つの手法の差を、
区間と判定(良い・悪い・判断できない)で返す。

本書の比較はすべてこのモジュールを通す。2 通りの「対応」を扱う。

- シードで対応する比較(:func:`compare_seeds`): 同じデータ・同じシードで 2 つの
  手法を学習し、シードごとの差の平均に t 分布の 95% 区間をつける。
- 同じテスト窓での比較(:func:`compare_predictions`): 2 つの予測の誤差を、
  患者(または時間のブロック)ごとにまとめて復元抽出する(ブートストラップ)。
  重なり合う窓を独立なものとして数えない。

判定は「区間が 0 を含まなければ良い・悪い、含めば判断できない」。
誤差のように小さいほど良い量を既定とする(``lower_is_better``)。
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

import numpy as np
from scipy import stats as _st

Verdict = Literal["better", "worse", "cannot tell"]
VERDICT_JA: dict[str, str] = {
    "better": "良い",
    "worse": "悪い",
    "cannot tell": "判断できない",
}


@dataclass(frozen=True)
class Comparison:
    """手法 A と B の対応のある比較の結果(差は A − B)。"""

    name_a: str  # 手法 A の名前
    name_b: str  # 手法 B の名前
    diffs: tuple[float, ...]  # シードごとの差 A − B(ブートストラップでは空)
    mean_diff: float  # 差の平均(ブートストラップでは全テスト窓での差)
    sd_diff: float  # 差の標準偏差(ブートストラップでは差の標準誤差)
    low: float  # 区間の下端
    high: float  # 区間の上端
    wins: int  # A が B より良かった対の数
    n: int  # 対の数(シードの数、またはまとまりの数)
    method: str  # 区間の求め方(本文にそのまま出す)
    lower_is_better: bool = True  # 小さいほど良い量か
    level: float = 0.95  # 区間の信頼水準

    @property
    def verdict(self) -> Verdict:
        """A は B より良い・悪い・判断できない(区間が 0 を含む)。"""
        if self.low <= 0.0 <= self.high:
            return "cannot tell"
        a_smaller = self.high < 0.0
        return "better" if a_smaller == self.lower_is_better else "worse"

    @property
    def verdict_ja(self) -> str:
        """判定の日本語(「良い」「悪い」「判断できない」)。"""
        return VERDICT_JA[self.verdict]


def _values(x: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    """1 次元で有限な値の並びかを確かめ、float64 の配列にして返す。"""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} は 1 次元の値の並びにしてください"
            f"(受け取った形状: {arr.shape})"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} に NaN か無限大が含まれています: {arr}")
    return arr


def _check_level(level: float) -> None:
    """信頼水準 level が 0.5 以上 1 未満かを確かめる。"""
    if not (np.isfinite(level) and 0.5 <= level < 1.0):
        raise ValueError(
            f"level は 0.5 以上 1 未満にしてください(受け取った値: {level})"
        )


def compare_seeds(
    values_a: Sequence[float] | np.ndarray,
    values_b: Sequence[float] | np.ndarray,
    names: tuple[str, str] = ("A", "B"),
    lower_is_better: bool = True,
    level: float = 0.95,
) -> Comparison:
    """シードで対応する 2 つの手法の結果を比べる(対応のある t 区間)。

    Parameters
    ----------
    values_a, values_b : 形状 (n_seeds,)
        同じシードの順に並べた、手法 A と B の結果(テスト RMSE など)。
    names : (str, str)
        手法 A と B の名前。
    lower_is_better : bool
        小さいほど良い量(誤差)なら True。正解率などは False。
    level : float
        区間の信頼水準(既定 0.95)。

    Returns
    -------
    Comparison
        差 A − B の平均・標準偏差・t 分布による区間・勝ち数・判定。
    """
    a, b = _values(values_a, "values_a"), _values(values_b, "values_b")
    _check_level(level)
    if a.shape != b.shape or a.size < 2:
        raise ValueError(
            "values_a と values_b は同じ長さ(2 以上)にしてください"
            f"(受け取った長さ: {a.size}, {b.size})"
        )
    d = a - b
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    half = float(_st.t.ppf(0.5 + level / 2, d.size - 1)) * sd / np.sqrt(d.size)
    wins = int(np.sum(d < 0) if lower_is_better else np.sum(d > 0))
    return Comparison(
        names[0],
        names[1],
        tuple(float(v) for v in d),
        mean,
        sd,
        float(mean - half),
        float(mean + half),
        wins,
        int(d.size),
        f"対応のある t 区間({d.size} シード)",
        lower_is_better,
        level,
    )


def _identity(x: np.ndarray) -> np.ndarray:
    return x


# 指標 → (誤差 1 つずつに施す変換, 平均のあとに施す変換)
METRICS: dict[
    str,
    tuple[
        Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]
    ],
] = {"rmse": (np.square, np.sqrt), "mae": (np.abs, _identity)}


def metric_from_sums(
    sums: np.ndarray, count: np.ndarray, metric: str
) -> np.ndarray:
    """まとまりごとの誤差の和と個数から、全体の RMSE か MAE を求める
    (最後の軸で合計する)。

    Parameters
    ----------
    sums : np.ndarray, 形状 (..., n_groups)
        まとまりごとの二乗誤差(rmse)か絶対誤差(mae)の和
        (:func:`group_sums` の sums)。
    count : np.ndarray, 形状 (..., n_groups)
        まとまりごとの窓の数。
    metric : {"rmse", "mae"}
        指標。

    Returns
    -------
    np.ndarray, 形状 (...)
        指標の値(誤差と同じ単位)。
    """
    return METRICS[metric][1](sums.sum(axis=-1) / count.sum(axis=-1))


def group_sums(
    errors: np.ndarray,
    groups: np.ndarray,
    transform: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """誤差をまとまりごとに合計する。

    Parameters
    ----------
    errors : np.ndarray, 形状 (n_runs, n_windows)
        予測 − 正解(シードごとの行)。
    groups : np.ndarray, 形状 (n_windows,)
        各窓のまとまりの番号(0 から始まる整数)。
    transform : Callable[[np.ndarray], np.ndarray]
        合計する前に誤差へかける関数(``np.square`` や ``np.abs``)。

    Returns
    -------
    sums : np.ndarray, 形状 (n_runs, n_groups)
        まとまりごとの transform(誤差) の和。
    counts : np.ndarray, 形状 (n_groups,)
        まとまりごとの窓の数(float64)。
    """
    n_groups = int(groups.max()) + 1
    sums = np.stack(
        [np.bincount(groups, transform(row), n_groups) for row in errors]
    )
    return sums, np.bincount(groups, minlength=n_groups).astype(np.float64)


def _errors_2d(errors: np.ndarray, name: str, n_windows: int) -> np.ndarray:
    """誤差を形状 (n_runs, n_windows) の有限な配列にそろえて返す。"""
    arr = np.asarray(errors, dtype=np.float64)
    arr = arr[None, :] if arr.ndim == 1 else arr
    if arr.ndim != 2 or arr.shape[1] != n_windows:
        raise ValueError(
            f"{name} は形状 (n_windows,) か (n_runs, n_windows) に"
            f"してください(n_windows = {n_windows}、受け取った形状: "
            f"{np.shape(errors)})"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} に NaN か無限大が含まれています")
    return arr


def _group_ids(groups: Sequence[object] | np.ndarray) -> np.ndarray:
    """まとまりの名前を 0 から始まる番号に変える(2 つ以上を要求)。"""
    labels = np.asarray(groups)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(
            "groups は窓ごとのまとまりの名前(1 次元、空でない)にしてください"
        )
    ids = np.unique(labels, return_inverse=True)[1].reshape(-1)
    if ids.max() < 1:
        raise ValueError("まとまりが 1 つしかないので、区間を求められません")
    return ids


def compare_predictions(
    errors_a: np.ndarray,
    errors_b: np.ndarray,
    groups: Sequence[object] | np.ndarray,
    names: tuple[str, str] = ("A", "B"),
    metric: str = "rmse",
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
    unit_name: str = "患者",
) -> Comparison:
    """同じテスト窓での 2 つの予測の誤差を、まとまりごとの
    ブートストラップで比べる。

    Parameters
    ----------
    errors_a, errors_b : 形状 (n_windows,) または (n_runs, n_windows)
        予測 − 正解。2 次元ならシードごとの行で、指標はシードの平均をとる。
    groups : 形状 (n_windows,)
        窓のまとまり(患者 ID や :func:`time_blocks` の番号)。まとまりごと
        復元抽出するので、まとまりの中の窓の相関は区間に反映される。
    names : (str, str)
        手法 A と B の名前。
    metric : {"rmse", "mae"}
        比べる指標(小さいほど良い)。
    n_boot : int
        ブートストラップの回数。
    seed : int
        復元抽出の乱数のシード(結果を再現するため)。
    level : float
        区間の信頼水準(既定 0.95)。
    unit_name : str
        まとまりの呼び名(本文の「患者」「時間のブロック」)。

    Returns
    -------
    Comparison
        全窓での指標の差 A − B、パーセンタイル区間、まとまりごとの勝ち数、
        判定。
    """
    ids = _group_ids(groups)
    ea = _errors_2d(errors_a, "errors_a", ids.size)
    eb = _errors_2d(errors_b, "errors_b", ids.size)
    if metric not in METRICS:
        raise ValueError(
            f"metric は {sorted(METRICS)} のどれかにしてください"
            f"(受け取った値: {metric!r})"
        )
    if n_boot < 100:
        raise ValueError(
            f"n_boot は 100 以上にしてください(受け取った値: {n_boot})"
        )
    _check_level(level)
    transform = METRICS[metric][0]
    reduce = partial(metric_from_sums, metric=metric)
    (sa, count), (sb, _) = (group_sums(e, ids, transform) for e in (ea, eb))
    n_groups = count.size
    w = np.random.default_rng(seed).multinomial(
        n_groups, np.full(n_groups, 1.0 / n_groups), size=n_boot
    )
    boot = reduce(sa[None] * w[:, None], count * w[:, None]).mean(
        axis=1
    ) - reduce(sb[None] * w[:, None], count * w[:, None]).mean(axis=1)
    full = float(reduce(sa, count).mean() - reduce(sb, count).mean())
    per_group = reduce(sa[..., None], count[:, None]).mean(axis=0) - reduce(
        sb[..., None], count[:, None]
    ).mean(axis=0)
    low, high = np.quantile(boot, [0.5 - level / 2, 0.5 + level / 2])
    return Comparison(
        names[0],
        names[1],
        (),
        full,
        float(boot.std(ddof=1)),
        float(low),
        float(high),
        int(np.sum(per_group < 0)),
        n_groups,
        f"{unit_name}単位のブートストラップ"
        f"({n_groups} {unit_name}、{n_boot} 回)",
        True,
        level,
    )


def time_blocks(n_windows: int, block: int) -> np.ndarray:
    """時間順に並んだ窓を、長さ ``block`` の連続したブロックに分ける。

    Parameters
    ----------
    n_windows : int
        窓の数。
    block : int
        1 つのブロックに入れる窓の数(1 以上、n_windows の半分以下)。

    Returns
    -------
    np.ndarray, 形状 (n_windows,)
        ブロック番号(int)。

    Raises
    ------
    ValueError
        block が 1 未満か、ブロックが 2 つ作れないとき。
    """
    if block < 1 or n_windows < 2 * block:
        raise ValueError(
            f"block は 1 以上で、窓の数 {n_windows} の半分以下に"
            f"してください(受け取った値: {block})"
        )
    return np.arange(n_windows) // block


def phrase(result: Comparison, better: str, worse: str, tie: str) -> str:
    """判定に応じて 3 つの言い回しから 1 つを選ぶ(本文の向きの言葉に使う)。

    例: ``phrase(c, "小さい", "大きい", "はっきりした差はない")``。

    Parameters
    ----------
    result : Comparison
        比較の結果。
    better, worse, tie : str
        A が良い・悪い・判断できないときの言い回し。

    Returns
    -------
    str
        判定に合う言い回し。
    """
    return {"better": better, "worse": worse, "cannot tell": tie}[
        result.verdict
    ]


def describe(result: Comparison, unit: str = "", digits: int = 2) -> str:
    """差・区間・勝ち数を 1 行の日本語にする(本文や表の注に glue する)。

    Parameters
    ----------
    result : Comparison
        比較の結果。
    unit : str
        差の単位(例 ``"mg/dL"``)。空なら付けない。
    digits : int
        小数点以下の桁数。

    Returns
    -------
    str
        「差 +0.12 mg/dL(95% 区間 …、判定: 良い)」の形の 1 行。
    """
    u = f" {unit}" if unit else ""
    f = f"+.{digits}f"
    pairs = "シード" if result.diffs else result.method.split("単位")[0]
    name = result.name_a
    sep = " " if name[-1:].isascii() else ""  # 「RNN が」「早期終了が」
    return (
        f"差 {result.mean_diff:{f}}{u}"
        f"(95% 区間 {result.low:{f}}〜{result.high:{f}}{u}、"
        f"{name}{sep}が良かった{pairs} {result.wins}/{result.n}、"
        f"判定: {result.verdict_ja})"
    )


def comparison_row(result: Comparison, digits: int = 2) -> dict[str, str]:
    """比較 1 つを表の 1 行(差・区間・勝ち数・判定)にする。

    Parameters
    ----------
    result : Comparison
        比較の結果。
    digits : int
        小数点以下の桁数。

    Returns
    -------
    dict[str, str]
        列名 → 表に出す文字列。
    """
    f = f"+.{digits}f"
    return {
        "比較(A − B)": f"{result.name_a} − {result.name_b}",
        "差の平均": f"{result.mean_diff:{f}}",
        "95% 区間": f"{result.low:{f}} 〜 {result.high:{f}}",
        "A が良い": f"{result.wins}/{result.n}",
        "判定(A は)": result.verdict_ja,
    }
