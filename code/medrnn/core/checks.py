"""引数の検査: いくつもの領域が同じ形で確かめる、配列と設定の値。"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def as_paired_1d(
    a: np.ndarray, b: np.ndarray, message: str
) -> tuple[np.ndarray, np.ndarray]:
    """a と b を float64 の配列にし、同じ長さの 1 次元かを確かめて返す。

    違えば ``message`` に受け取った 2 つの形状を添えて ValueError を送出する。
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"{message}(受け取った形状: {x.shape}, {y.shape})")
    return x, y


def check_at_least_one(config: object, names: Iterable[str]) -> None:
    """設定 config の属性 names がどれも 1 以上かを確かめる。"""
    for name in names:
        if getattr(config, name) < 1:
            raise ValueError(
                f"{name} は 1 以上にしてください"
                f"(受け取った値: {getattr(config, name)})"
            )
