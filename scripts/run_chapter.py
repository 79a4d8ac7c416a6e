"""1 つの章だけを実行して、かかった秒数と glue した値を表示する
(執筆中の確認用)。

    .venv/bin/python scripts/run_chapter.py book/vitals.md [--json out.json]

本のビルド(make html)と同じ読み方(myst-nb)でノートブックにし、nbclient で
上から順に実行する。エラーを出したセルがあれば、そのセルと例外を表示して失敗する。
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from execute_chapters import read_notebook, use_one_thread  # noqa: E402

GLUE_MIME = "application/papermill.record/"


def glued_values(nb: nbformat.NotebookNode) -> dict[str, str]:
    """実行済みのノートブックから、glue した名前 → 値(text/plain)を集める。"""
    values: dict[str, str] = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            key = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if key is None:
                continue
            data = out.get("data", {})
            values[key] = data.get(
                f"{GLUE_MIME}text/plain", data.get("text/plain", "<図など>")
            )
    return values


def run(path: Path, timeout: int = 600) -> tuple[nbformat.NotebookNode, float]:
    """章を実行し、実行済みのノートブックと秒数を返す。"""
    nb = read_notebook(path)  # 本のビルドと同じ読み方
    use_one_thread()
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - start


def main() -> int:
    # 説明は docstring の最初の段落(折り返した 1 文)を 1 行につないだもの
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0].replace("\n", "")
    )
    parser.add_argument("chapter", type=Path)
    parser.add_argument("--json", type=Path, help="glue した値を書く JSON")
    args = parser.parse_args()
    try:
        nb, seconds = run(args.chapter.resolve())
    except CellExecutionError as err:
        print(err, file=sys.stderr)
        return 1
    values = glued_values(nb)
    for key, value in values.items():
        print(f"{key} = {value[:120]}")
    print(f"{args.chapter}: {seconds:.1f} 秒、glue {len(values)} 個")
    if args.json:
        args.json.write_text(json.dumps(values, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
