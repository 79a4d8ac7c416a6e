"""本文が literalinclude で見せるオブジェクトが、印刷した 1 ページに収まるか。

目安は 25 行・79 桁(全角文字は 2 桁)。長くなったら、引数の検査を
``_check_*`` の小さな関数に移すか、考え方ごとに 2 つの関数に分ける。
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
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


def listed_objects(
    book: Path = ROOT / "book",
) -> dict[tuple[str, str], list[str]]:
    """(引用するファイル, :pyobject:) → それを引用している章の一覧。"""
    seen: dict[tuple[str, str], list[str]] = {}
    for chapter in sorted(book.glob("*.md")):
        text = chapter.read_text(encoding="utf-8")
        for m in listing_sizes.DIRECTIVE.finditer(text):
            opts = dict(re.findall(r":(\w+):\s*(.*)", m.group(2)))
            if "pyobject" in opts:
                source = (chapter.parent / m.group(1)).resolve()
                key = (source.relative_to(ROOT).as_posix(), opts["pyobject"])
                seen.setdefault(key, []).append(chapter.stem)
    return seen


def test_no_listing_appears_twice():
    """同じオブジェクトを 2 度見せない(2 度目は最初の章の節を {ref} で)。"""
    seen = listed_objects()
    assert len(seen) > 80
    repeated = {
        key: chapters for key, chapters in seen.items() if len(chapters) > 1
    }
    assert not repeated, f"2 回以上引用しているリスティング: {repeated}"


def test_repeated_listing_is_detected(tmp_path):
    listing = (
        "```{literalinclude} ../code/medrnn/core/training.py\n"
        ":language: python\n:pyobject: fit\n```\n"
    )
    book = tmp_path / "book"
    book.mkdir()
    (book / "a.md").write_text(listing, encoding="utf-8")
    (book / "b.md").write_text(listing, encoding="utf-8")
    (tmp_path / "code").symlink_to(ROOT / "code")
    seen = listed_objects(book)
    assert list(seen.values()) == [["a", "b"]]
