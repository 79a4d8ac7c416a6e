"""引数の検査: いくつもの領域が同じ形で確かめる、配列と設定の値。"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def as_paired_1d(
    a: np.ndarray, b: np.ndarray, message: str
) -> tuple[np.ndarray, np.ndarray]:
    """a と b を float64 の配列にし、同じ長さの 1 次元かを確かめて返す。

    Parameters
    ----------
    a, b : array_like, 形状 (n,)
        対にして比べる 2 つの値の並び。
    message : str
        形状が合わないときのエラーの文(受け取った形状を後ろに添える)。

    Returns
    -------
    x, y : np.ndarray, 形状 (n,)
        float64 にした a と b。

    Raises
    ------
    ValueError
        a と b の形状が違うか、1 次元でないとき。
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"{message}(受け取った形状: {x.shape}, {y.shape})")
    return x, y


def check_at_least_one(config: object, names: Iterable[str]) -> None:
    """設定 config の属性 names がどれも 1 以上かを確かめる。

    Parameters
    ----------
    config : object
        検査する設定(frozen dataclass など)。
    names : Iterable[str]
        1 以上であるべき属性の名前。

    Raises
    ------
    ValueError
        どれかの属性が 1 未満のとき。
    """
    for name in names:
        if getattr(config, name) < 1:
            raise ValueError(
                f"{name} は 1 以上にしてください"
                f"(受け取った値: {getattr(config, name)})"
            )
