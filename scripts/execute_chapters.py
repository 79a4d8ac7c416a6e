"""本の全章を CPU のコア数だけ並べて実行し、実行キャッシュに入れる
(make html の前段)。

    .venv/bin/python scripts/execute_chapters.py [--jobs N] [--cache DIR]

jupyter-book(myst-nb)は章を 1 つずつ順に実行するので、2 コアの機械でも
1 コアしか使わない。このスクリプトは、myst-nb と同じ読み方・同じ実行関数
(jupyter-cache の ``single_nb_execution``)で、キャッシュにない章だけを
並列に実行して ``_build/.jupyter_cache`` に入れる。続く ``jupyter-book build``
はキャッシュから出力を取るだけになる。

- パッケージ(code/medrnn)が変わっていれば、先にキャッシュを捨てる
  (book/_ext/medrnn_cache_guard.py と同じ判定。ビルドの拡張も同じことをする)。
- 各章は別のプロセス・別のカーネルで、PyTorch のスレッド 1 本
  (``MEDRNN_NUM_THREADS``)で実行する。長い章から先に始める。
- どれかの章のセルがエラーになれば、その例外を表示して失敗する
  (本のビルドと同じ厳しさ)。
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution
from myst_nb.core.read import read_myst_markdown_notebook

from medrnn.core.notebook import ExecBudget

ROOT = Path(__file__).resolve().parents[1]
BLAS_THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
)
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from medrnn_cache_guard import package_hash, refresh_cache  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from book_toc import toc_files  # noqa: E402

TIMEOUT = 600  # _config.yml の execute.timeout と同じ
BUDGET = ROOT / "book" / "exec_budget.json"


def toc_documents(toc_path: Path = ROOT / "_toc.yml") -> list[Path]:
    """目次に並ぶ文書のうち、ノートブック(kernelspec を持つ MyST)のパス。"""
    paths = [ROOT / f"{name}.md" for name in toc_files(toc_path)]
    return [p for p in paths if "kernelspec:" in p.read_text(encoding="utf-8")]


def use_one_thread() -> None:
    """これから起動するカーネルの PyTorch と BLAS を 1 スレッドにする。

    章どうしでコアを奪い合わないように(MEDRNN_NUM_THREADS で変えられる)。
    """
    os.environ.setdefault("MEDRNN_NUM_THREADS", "1")
    for var in BLAS_THREAD_VARS:
        os.environ.setdefault(var, os.environ["MEDRNN_NUM_THREADS"])


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """myst-nb と同じ読み方で MyST Markdown をノートブックにする。"""
    return read_myst_markdown_notebook(
        path.read_text(encoding="utf-8"), path=str(path)
    )


def execute(path: str) -> tuple[str, dict | None, float, str | None]:
    """1 章を実行する(別プロセスで呼ばれる)。
    (パス, ノートブック, 秒, エラー)。
    """
    nb = read_notebook(Path(path))
    result = single_nb_execution(
        nb,
        cwd=str(Path(path).parent),
        timeout=TIMEOUT,
        allow_errors=False,
        meta_override=True,
    )
    if result.err is not None:
        return path, None, result.time, result.exc_string
    return path, nb, result.time, None


def expected_seconds(path: Path) -> float:
    """予算ファイルに記録した章の秒数(長い章から始めるために使う)。"""
    recorded = ExecBudget.read(BUDGET).seconds
    if not path.is_relative_to(ROOT):
        return 0.0
    name = path.relative_to(ROOT).with_suffix("").as_posix()
    return float(recorded.get(name, 0.0))


def outdated(cache, paths: list[Path]) -> list[Path]:
    """キャッシュに同じセルの実行結果がない章。"""
    stale = []
    for path in paths:
        try:
            cache.match_cache_notebook(read_notebook(path))
        except KeyError:
            stale.append(path)
    return stale


def main(argv: list[str] | None = None) -> int:
    # 説明は docstring の最初の段落(折り返した 1 文)を 1 行につないだもの
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0].replace("\n", "")
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="同時に実行する章の数(既定: CPU のコア数)",
    )
    parser.add_argument(
        "documents",
        nargs="*",
        type=Path,
        help="実行する文書(既定: 目次のノートブックすべて)",
    )
    parser.add_argument(
        "--cache", type=Path, default=ROOT / "_build" / ".jupyter_cache"
    )
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(
            f"--jobs は 1 以上にしてください(受け取った値: {args.jobs})"
        )
    use_one_thread()
    if refresh_cache(args.cache, package_hash(ROOT / "code" / "medrnn")):
        print("[execute] パッケージが変わったので実行キャッシュを捨てました")
    cache = get_cache(str(args.cache))
    docs = [p.resolve() for p in args.documents] or toc_documents()
    todo = sorted(outdated(cache, docs), key=expected_seconds, reverse=True)
    print(f"[execute] 実行する章 {len(todo)} 個、同時に {args.jobs} 個")
    failures = 0
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(execute, str(p)) for p in todo]
        for future in as_completed(futures):
            path, nb, seconds, error = future.result()
            name = Path(path).name
            if error is not None:
                failures += 1
                print(
                    f"[execute] 失敗: {name}({seconds:.1f} 秒)\n{error}",
                    file=sys.stderr,
                )
                continue
            cache.cache_notebook_bundle(
                CacheBundleIn(nb, path, data={"execution_seconds": seconds}),
                check_validity=False,
                overwrite=True,
            )
            print(f"[execute] {name}: {seconds:.1f} 秒")
    print(f"[execute] 計 {time.perf_counter() - start:.1f} 秒")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
