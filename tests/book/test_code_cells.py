"""章のコードセルの検査: 1 行は 79 桁まで(全角は 2 桁)。

1280 px の画面でも PDF でも、コードが欄からはみ出さずに読めるように
(tests/book/test_site.py がブラウザで、tests/book/test_listings.py が
パッケージからの引用で、同じことを確かめる)。
整形は scripts/format_code_cells.py。
"""

from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from format_code_cells import CELL, split_options  # noqa: E402

MAX_COLUMNS = 79


def display_width(line: str) -> int:
    """表示の幅(全角・広い文字は 2 桁)。"""
    return sum(
        2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line
    )


def long_lines(text: str) -> list[tuple[int, str]]:
    """コードセルの中の、MAX_COLUMNS 桁を超える行(行番号と行)。"""
    found = []
    for match in CELL.finditer(text):
        _, code = split_options(match.group("body"))
        first = text.count("\n", 0, match.start("body")) + 1
        offset = match.group("body").count("\n") - code.count("\n")
        for i, line in enumerate(code.splitlines()):
            if display_width(line) > MAX_COLUMNS:
                found.append((first + offset + i, line))
    return found


def test_code_cell_lines_fit_the_column() -> None:
    too_long = [
        f"{path.name}:{n}: {line.strip()[:50]}"
        for path in sorted((ROOT / "book").glob("*.md"))
        for n, line in long_lines(path.read_text(encoding="utf-8"))
    ]
    assert not too_long, "79 桁を超えるコードの行:\n" + "\n".join(too_long)


def test_long_lines_finds_a_wide_line() -> None:
    text = (
        "```{code-cell} ipython3\n:tags: [remove-cell]\n\n"
        "x = 1\n" + "y = '" + "あ" * 40 + "'\n```\n"
    )
    assert [n for n, _ in long_lines(text)] == [5]
    assert re.search(r"あ+", long_lines(text)[0][1])
