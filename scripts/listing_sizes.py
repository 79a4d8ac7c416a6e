"""本文が literalinclude で見せるオブジェクトの大きさ(行数と最大の桁数)を測る。

    .venv/bin/python scripts/listing_sizes.py [--top N]

桁数は表示幅で数える(全角文字は 2 桁)。印刷した 1 ページに収まる目安は
25 行・79 桁(tests/book/test_listings.py が確かめる)。
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIRECTIVE = re.compile(r"```\{literalinclude\}\s+(\S+)\n((?::[^\n]*\n)*)")


def width(line: str) -> int:
    """表示幅(全角・広い文字は 2)。"""
    return sum(
        2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line
    )


def find_object(tree: ast.Module, dotted: str) -> ast.AST:
    """``Class.method`` のような名前のオブジェクトを AST から探す。"""
    node: ast.AST = tree
    for part in dotted.split("."):
        body = getattr(node, "body", [])
        found = [n for n in body if getattr(n, "name", None) == part]
        if not found:
            raise LookupError(f"{dotted} が見つかりません({part} がない)")
        node = found[0]
    return node


def listings(book: Path = ROOT / "book") -> list[tuple[str, str, int, int]]:
    """(章, オブジェクト, 行数, 最大の桁数) の一覧。"""
    rows = []
    for chapter in sorted(book.glob("*.md")):
        text = chapter.read_text(encoding="utf-8")
        for m in DIRECTIVE.finditer(text):
            opts = dict(re.findall(r":(\w+):\s*(.*)", m.group(2)))
            if "pyobject" not in opts:
                continue
            source = (chapter.parent / m.group(1)).resolve()
            code = source.read_text(encoding="utf-8")
            try:
                node = find_object(ast.parse(code), opts["pyobject"])
            except LookupError as err:
                raise LookupError(
                    f"{chapter.name} の {source}: {err}"
                ) from None
            start = min(
                [node.lineno]
                + [d.lineno for d in getattr(node, "decorator_list", [])]
            )
            lines = code.splitlines()[start - 1 : node.end_lineno]
            rows.append(
                (
                    chapter.stem,
                    opts["pyobject"],
                    len(lines),
                    max(width(line) for line in lines),
                )
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    rows = listings()
    print(f"literalinclude のオブジェクト {len(rows)} 個")
    print("行数の多い順:")
    for row in sorted(rows, key=lambda r: -r[2])[: args.top]:
        print(f"  {row[2]:4d} 行 {row[3]:4d} 桁  {row[0]}: {row[1]}")
    over = [r for r in rows if r[2] > 25 or r[3] > 79]
    print(f"25 行か 79 桁を超えるもの: {len(over)} 個")
    return 0


if __name__ == "__main__":
    sys.exit(main())
