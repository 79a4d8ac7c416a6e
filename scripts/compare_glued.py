"""2 つ以上のビルドの glue した値を比べる
(判定の違いを先に、数値の違いの数を後に)。

    .venv/bin/python scripts/compare_glued.py BASE_DIR OTHER_DIR
        [OTHER_DIR ...] [--strict]

各 DIR は jupyter-book が実行済みのノートブックを書く
``_build/jupyter_execute``。
判定(キーが ``_verdict``・``_dir``・``_word`` で終わるもの、``_dir_``・
``_verdict_`` を含むもの)と、数字を含まない文字列(通った方法の名前の並び
など)が違えば、それを全部表示する。それは本の本当の不確かさで、本文は
それを前提に書いてある。
``--strict`` なら、値が 1 つでも違えば失敗する(並列と直列のビルドが同じ値を
出すかの確認に使う)。
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def load(directory: Path) -> dict[str, dict[str, str]]:
    """章 → glue した名前 → 値(text/plain)。

    myst-nb は glue した値をノートブックから外し、``<章>.glue.json`` に書く。
    """
    values = {}
    for path in sorted(directory.rglob("*.glue.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        values[path.relative_to(directory).as_posix()] = {
            key: out.get("data", {}).get("text/plain", "<図など>")
            for key, out in data.items()
        }
    return values


def is_verdict(key: str) -> bool:
    """本文の向きの言葉・判定を表すキーか。"""
    return (
        key.endswith(("_verdict", "_word", "_dir"))
        or "_dir_" in key
        or "_verdict_" in key
    )


def is_qualitative_change(key: str, a: str, b: str) -> bool:
    """判定のキーか、数字を含まない文字列どうしの違い(通った方法の名前の
    並びなど、本文の言葉が変わるもの)か。
    """
    no_digits = not any(ch.isdigit() for ch in a + b)
    return is_verdict(key) or no_digits


def differences(
    base: dict[str, dict[str, str]], other: dict[str, dict[str, str]]
) -> list[tuple[str, str, str, str]]:
    """(章, キー, base の値, other の値) の違いの一覧。"""
    diffs = []
    for chapter in sorted(set(base) | set(other)):
        a, b = base.get(chapter, {}), other.get(chapter, {})
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                diffs.append(
                    (chapter, key, a.get(key, "(なし)"), b.get(key, "(なし)"))
                )
    return diffs


def main(argv: list[str] | None = None) -> int:
    # 説明は docstring の最初の段落(折り返した 1 文)を 1 行につないだもの
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0].replace("\n", "")
    )
    parser.add_argument("base", type=Path)
    parser.add_argument("others", type=Path, nargs="+")
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args(argv)
    base = load(args.base)
    total = sum(len(v) for v in base.values())
    any_diff = False
    for other_dir in args.others:
        diffs = differences(base, load(other_dir))
        any_diff |= bool(diffs)
        changed = [d for d in diffs if "(なし)" not in (d[2], d[3])]
        print(
            f"== {args.base} と {other_dir}: glue した値 {total} 個。"
            f"両方にあって値が違う {len(changed)} 個、"
            f"片方にしかない {len(diffs) - len(changed)} 個"
        )
        for chapter in sorted({d[0] for d in changed}):
            n = sum(d[0] == chapter for d in changed)
            print(f"   {chapter}: 値が違う {n} 個")
        for chapter, key, a, b in changed:
            if is_qualitative_change(key, a, b):
                print(f"   判定が違う: {chapter} {key}: {a[:60]} → {b[:60]}")
    return 1 if (args.strict and any_diff) else 0


if __name__ == "__main__":
    sys.exit(main())
