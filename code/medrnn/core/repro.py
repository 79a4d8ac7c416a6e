"""再現性と実行環境(乱数シード・スレッド数・デバイス)をまとめて決める。"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

# 小さなモデルでは 1 スレッドが速く安定する(本書で計測)
DEFAULT_NUM_THREADS = 1
SEED_OFFSET_ENV = "MEDRNN_SEED_OFFSET"  # 全章のシードをずらす環境変数


def seed_offset() -> int:
    """環境変数 ``MEDRNN_SEED_OFFSET`` の値(なければ 0)。

    本の主張が別のシードでも成り立つかを確かめるため、CI はこの値を変えて
    本をもう一度作る。:func:`set_seed` と :func:`shifted` がこの値を足す。

    Returns
    -------
    int
        0 以上のずらし幅。

    Raises
    ------
    ValueError
        環境変数が 0 以上の整数でないとき。
    """
    raw = os.environ.get(SEED_OFFSET_ENV, "0").strip() or "0"
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(
            f"{SEED_OFFSET_ENV} は 0 以上の整数にしてください"
            f"(受け取った値: {raw!r})"
        ) from None
    if value < 0:
        raise ValueError(
            f"{SEED_OFFSET_ENV} は 0 以上にしてください(受け取った値: {value})"
        )
    return value


def shifted(seed: int) -> int:
    """章のシード番号 ``seed`` に、環境変数のずらし幅を足した実際のシード。

    Parameters
    ----------
    seed : int
        章の中のシード番号。

    Returns
    -------
    int
        ``seed + seed_offset()``。
    """
    return int(seed) + seed_offset()


def set_seed(seed: int) -> None:
    """random・NumPy・PyTorch(CUDA を含む)の乱数シードを一度に固定する。

    実際に使うシードは ``shifted(seed)``(環境変数 ``MEDRNN_SEED_OFFSET`` の分
    ずらした値)。既定ではずらさない。

    Parameters
    ----------
    seed : int
        0 以上の整数シード(章の中のシード番号)。
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(
            "seed は整数で指定してください"
            f"(受け取った型: {type(seed).__name__})"
        )
    if seed < 0:
        raise ValueError(f"seed は 0 以上にしてください(受け取った値: {seed})")
    seed = shifted(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # CUDA の全デバイスにも適用される


def configure_torch(num_threads: int | None = None) -> torch.device:
    """スレッド数を設定し、計算に使うデバイスを返す(本書で唯一の決定箇所)。

    Parameters
    ----------
    num_threads : int or None
        PyTorch が CPU で使うスレッド数。None なら環境変数
        ``MEDRNN_NUM_THREADS``、それもなければ 1。

    Returns
    -------
    torch.device
        CUDA が使えれば ``cuda``、なければ ``cpu``。
    """
    if num_threads is None:
        num_threads = int(
            os.environ.get("MEDRNN_NUM_THREADS", DEFAULT_NUM_THREADS)
        )
    if num_threads < 1:
        raise ValueError(
            f"num_threads は 1 以上にしてください(受け取った値: {num_threads})"
        )
    torch.set_num_threads(num_threads)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def environment_summary() -> dict[str, str]:
    """本書をビルドした環境(Python・主要パッケージの版、デバイス)を返す。

    Returns
    -------
    dict[str, str]
        項目名 → 値(表にそのまま出す)。
    """
    import platform

    import matplotlib

    return {
        "Python": platform.python_version(),
        "PyTorch": torch.__version__,
        "NumPy": np.__version__,
        "Matplotlib": matplotlib.__version__,
        "OS": f"{platform.system()} {platform.machine()}",
        "デバイス": "CUDA" if torch.cuda.is_available() else "CPU",
        "スレッド数": str(torch.get_num_threads()),
        "シードのずらし幅": str(seed_offset()),
    }
