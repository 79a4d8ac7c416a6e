"""本文が literalinclude で見せるオブジェクトが、印刷した 1 ページに収まるか。

目安は 25 行・79 桁(全角文字は 2 桁)。長くなったら、引数の検査を
``_check_*`` の小さな関数に移すか、考え方ごとに 2 つの関数に分ける。
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import listing_sizes  # noqa: E402

MAX_LINES, MAX_COLUMNS = 25, 79


def test_every_listing_fits_a_printed_page():
    rows = listing_sizes.listings()
    assert len(rows) > 80  # 本文のリスティングを実際に読めている
    too_big = [r for r in rows if r[2] > MAX_LINES or r[3] > MAX_COLUMNS]
    assert not too_big, f"1 ページに収まらないリスティング: {too_big}"


def test_width_counts_full_width_characters_twice():
    assert listing_sizes.width("abc") == 3
    assert listing_sizes.width("日本語") == 6
