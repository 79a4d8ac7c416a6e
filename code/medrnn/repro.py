"""再現性と実行環境(乱数シード・スレッド数・デバイス)をまとめて決める。"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

DEFAULT_NUM_THREADS = 1  # 小さなモデルでは 1 スレッドが速く安定する(本書で計測)


def set_seed(seed: int) -> None:
    """random・NumPy・PyTorch(CUDA を含む)の乱数シードを一度に固定する。

    Parameters
    ----------
    seed : int
        0 以上の整数シード。
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed は整数で指定してください(受け取った型: {type(seed).__name__})")
    if seed < 0:
        raise ValueError(f"seed は 0 以上にしてください(受け取った値: {seed})")
    random.seed(int(seed))
    np.random.seed(int(seed))
    torch.manual_seed(int(seed))  # CUDA の全デバイスにも適用される


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
        num_threads = int(os.environ.get("MEDRNN_NUM_THREADS",
                                         DEFAULT_NUM_THREADS))
    if num_threads < 1:
        raise ValueError(f"num_threads は 1 以上にしてください(受け取った値: {num_threads})")
    torch.set_num_threads(num_threads)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def environment_summary() -> dict[str, str]:
    """本書をビルドした環境(Python・主要パッケージの版、デバイス)を返す。"""
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
    }
