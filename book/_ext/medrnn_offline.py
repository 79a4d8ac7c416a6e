"""ウェブ版をインターネットなしで読めるようにする Sphinx 拡張。

MathJax を CDN から読む代わりに、PyPI のパッケージ django-static-mathjax に入っている
MathJax 3 を ``_build/html/mathjax/`` に写す。Jupyter Book 1 は ``_static/`` の下の .js を
全ページに読み込ませてしまうので、``_static/`` の外に置く。
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

MATHJAX_DIR = "mathjax"  # 出力先(_build/html の下)
MATHJAX_ENTRY = "tex-mml-chtml.js"
# 本のページで使う部分だけを写す(音声読み上げの sre などは除く)
MATHJAX_PARTS = (MATHJAX_ENTRY, "output/chtml", "input/tex", "input/mml", "a11y", "ui")


def mathjax_source() -> Path:
    """django-static-mathjax が入れた MathJax 3 (es5) のフォルダ。"""
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("MathJax が見つかりません: pip install django-static-mathjax")
    return Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax" / "es5"


def copy_mathjax(outdir: Path) -> Path:
    """MathJax の必要な部分を outdir/mathjax に写し、入口の .js のパスを返す。"""
    src, dst = mathjax_source(), outdir / MATHJAX_DIR
    for part in MATHJAX_PARTS:
        if (src / part).is_dir():
            shutil.copytree(src / part, dst / part, dirs_exist_ok=True)
        else:
            dst.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / part, dst / part)
    return dst / MATHJAX_ENTRY


def _on_build_finished(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        copy_mathjax(Path(app.outdir))


def setup(app) -> dict:
    # add_js_file は _static からの相対パスとして扱うので、一つ上に出る
    app.config.mathjax_path = f"../{MATHJAX_DIR}/{MATHJAX_ENTRY}"
    app.connect("build-finished", _on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
