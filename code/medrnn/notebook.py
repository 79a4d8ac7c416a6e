"""各章の最初のセルで呼ぶ準備関数。"""

from __future__ import annotations

import torch

from .plotting import setup_japanese_font, use_book_figure_formats
from .repro import configure_torch, set_seed


def setup_chapter(seed: int = 0) -> torch.device:
    """乱数シード・スレッド数・日本語フォント・図の形式をまとめて設定する。

    Returns
    -------
    torch.device
        計算に使うデバイス(CUDA があれば CUDA)。
    """
    device = configure_torch()
    set_seed(seed)
    setup_japanese_font()
    use_book_figure_formats()
    return device
