"""章(book/*.md)のコードセルを ruff format で整える(79 桁)。

    .venv/bin/python scripts/format_code_cells.py            # 書き換える
    .venv/bin/python scripts/format_code_cells.py --check    # 差があれば失敗

コードセルの先頭のオプション(``:tags: [...]`` や ``---`` で囲んだ
メタデータ)はそのまま残し、コードの部分だけを整える。ruff の設定は
pyproject.toml のもの(79 桁)。make lint が --check で呼ぶ。
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CELL = re.compile(
    r"^(?P<open>```\{code-cell\}[^\n]*\n)(?P<body>.*?)^(?P<close>```)[ \t]*$",
    re.DOTALL | re.MULTILINE,
)
RUFF = Path(sys.executable).parent / "ruff"


def split_options(body: str) -> tuple[str, str]:
    """セルの中身を、先頭のオプション部分とコードに分ける。"""
    lines = body.splitlines(keepends=True)
    if lines and lines[0].strip() == "---":
        end = next(
            i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"
        )
        head, rest = lines[: end + 1], lines[end + 1 :]
    else:
        n = 0
        while n < len(lines) and re.match(r"^:[\w-]+:", lines[n]):
            n += 1
        head, rest = lines[:n], lines[n:]
    while rest and not rest[0].strip():  # オプションのあとの空行
        head.append(rest.pop(0))
    return "".join(head), "".join(rest)


def format_code(code: str) -> str:
    """ruff format で整えたコード(失敗したら例外)。"""
    result = subprocess.run(
        [str(RUFF), "format", "--stdin-filename", "cell.py", "-"],
        input=code,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    return result.stdout


def format_chapter(text: str) -> str:
    """章の Markdown の、すべてのコードセルを整えた文字列。"""

    def replace(match: re.Match) -> str:
        head, code = split_options(match.group("body"))
        if not code.strip():
            return match.group(0)
        return match.group("open") + head + format_code(code) + "```"

    return CELL.sub(replace, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args(argv)
    files = args.files or sorted((ROOT / "book").glob("*.md"))
    changed = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        new = format_chapter(text)
        if new != text:
            changed.append(path)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    for path in changed:
        print(("整形が必要: " if args.check else "整形しました: ") + str(path))
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
