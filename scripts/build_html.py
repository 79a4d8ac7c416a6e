"""本(HTML)を作る: make html の中身。

    .venv/bin/python scripts/build_html.py [--out DIR] [--jobs N]

1. ``scripts/execute_chapters.py``: キャッシュにない章を、コア数だけ並べて
   実行する。
2. ``jupyter-book build``(差分ビルド、警告・壊れた参照はエラー): 変わった章
   だけを読み直す(変わっていないページの壊れた参照も Sphinx が見つける。
   tests/book/test_build_html.py)。
3. ビルドが失敗したら Sphinx の環境(``_build/.doctrees``)を捨てる。次のビルドは
   全ページを読み直すので、直していない警告は、ページが変わっていなくても毎回出る。
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import execute_chapters  # noqa: E402


def sphinx_build(book: Path, out: Path) -> int:
    """jupyter-book の厳しい差分ビルド。
    失敗したら環境を捨てて終了コードを返す。
    """
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [
        str(jb),
        "build",
        str(book),
        "--path-output",
        str(out),
        "-W",
        "-n",
        "--keep-going",
    ]
    rc = subprocess.call(cmd)
    if rc != 0:
        shutil.rmtree(out / "_build" / ".doctrees", ignore_errors=True)
    return rc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT,
        help="出力先(DIR/_build/html)。既定はリポジトリ",
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    out = args.out.resolve()
    cache = out / "_build" / ".jupyter_cache"
    if (
        execute_chapters.main(
            ["--jobs", str(args.jobs), "--cache", str(cache)]
        )
        != 0
    ):
        return 1
    rc = sphinx_build(ROOT, out)
    if rc == 0:
        print(f"できあがり: {out / '_build' / 'html' / 'index.html'}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
