"""部分集団(血糖値の範囲・診断・入力の変動の大きさ)ごとの評価。

部分集団の比較も :func:`medrnn.core.compare.compare_predictions` を通す。
窓ではなく患者を復元抽出するので、患者が少ない部分集団には区間を
付けない(None を返す)。2 人では復元抽出の組み合わせが 3 通り(A と A、
A と B、B と B)しかなく、区間はその 2 人の値を並べ直しただけになる。
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..cgm.data import HYPO_MGDL, TARGET_RANGE
from ..core.compare import Comparison, compare_predictions

MIN_PATIENTS = 3  # 区間を付ける部分集団の最少の患者数


def glucose_ranges(values: np.ndarray) -> dict[str, np.ndarray]:
    """血糖値 [mg/dL] を 低血糖・目標範囲・高血糖 に分ける。

    Parameters
    ----------
    values : np.ndarray
        血糖値 [mg/dL](ふつうは予測先の正解)。形状 (N,)

    Returns
    -------
    dict
        範囲の名前 → 真偽値の配列。形状 (N,)
    """
    v = np.asarray(values, dtype=np.float64)
    low, high = TARGET_RANGE
    return {
        f"低血糖(< {HYPO_MGDL:.0f})": v < HYPO_MGDL,
        f"目標範囲({low:.0f}〜{high:.0f})": (v >= low) & (v <= high),
        f"高血糖(> {high:.0f})": v > high,
    }


@dataclass(frozen=True)
class Subgroup:
    """1 つの部分集団の大きさと、2 つの方法の比較(患者が少なければ None)。"""

    n_windows: int  # 窓の数
    n_patients: int  # 患者の数
    comparison: Comparison | None  # A − B の RMSE の差 [mg/dL]


def compare_in_subgroups(
    errors_a: np.ndarray,
    errors_b: np.ndarray,
    patients: np.ndarray,
    masks: dict[str, np.ndarray],
    names: tuple[str, str],
) -> dict[str, Subgroup]:
    """部分集団ごとに、2 つの予測の RMSE を患者単位で比べる。

    errors_a, errors_b: 予測 − 正解。形状 (N,) か (n_runs, N)。
    patients: 形状 (N,)。masks: 部分集団の名前 → 形状 (N,) の真偽値。
    """
    ea, eb = np.atleast_2d(errors_a), np.atleast_2d(errors_b)
    out = {}
    for name, mask in masks.items():
        who = np.asarray(patients)[mask]
        n_pat = len(set(who.tolist()))
        c = None
        if n_pat >= MIN_PATIENTS:
            c = compare_predictions(
                ea[:, mask], eb[:, mask], who, names=names, unit_name="患者"
            )
        out[name] = Subgroup(int(mask.sum()), n_pat, c)
    return out


def input_volatility(X: np.ndarray) -> np.ndarray:
    """入力窓の中の 5 分ごとの変化の標準偏差 [mg/dL]。

    出力を見ずに計算できる「窓の荒さ」。

    Parameters
    ----------
    X : np.ndarray
        入力窓の血糖値 [mg/dL]。形状 (N, seq_len)(seq_len は 3 以上)

    Returns
    -------
    np.ndarray
        窓ごとの変化の標準偏差 [mg/dL]。形状 (N,)
    """
    x = np.asarray(X, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 3:
        raise ValueError(
            f"X は形状 (N, seq_len >= 3) にしてください({x.shape})"
        )
    return np.diff(x, axis=1).std(axis=1)
