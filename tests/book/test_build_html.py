"""差分ビルドの厳しさの検査(scripts/build_html.py)。

小さな本を一時フォルダに作り、本物の jupyter-book で作る。
変わっていないページの壊れた参照も、前回失敗したまま直していない警告も、
毎回ビルドを失敗させること。
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import build_html  # noqa: E402

CONFIG = """title: 小さな本
only_build_toc_files: true
execute:
  execute_notebooks: "off"
"""
TOC = """format: jb-book
root: a
chapters:
  - file: b
"""
PAGE_A = "# A\n\n本文。{ref}`label-b` を見てください。\n"
PAGE_B = "# B\n\n(label-b)=\n## 節\n\n本文。\n"


def _book(tmp_path: Path) -> Path:
    book = tmp_path / "book"
    book.mkdir()
    for name, text in {
        "_config.yml": CONFIG,
        "_toc.yml": TOC,
        "a.md": PAGE_A,
        "b.md": PAGE_B,
    }.items():
        (book / name).write_text(text, encoding="utf-8")
    return book


def test_unchanged_page_with_broken_reference_fails(tmp_path, capfd):
    book = _book(tmp_path)
    assert build_html.sphinx_build(book, book) == 0
    # b だけを変えてラベルを消す。a は変わっていないが、参照が壊れた
    (book / "b.md").write_text(
        PAGE_B.replace("(label-b)=\n", ""), encoding="utf-8"
    )
    capfd.readouterr()
    assert build_html.sphinx_build(book, book) != 0
    assert "a.md" in capfd.readouterr().err
    # 何も直さずにもう一度: 失敗したビルドの後は全ページを読み直すので、
    # また失敗する
    assert build_html.sphinx_build(book, book) != 0
    assert "label-b" in capfd.readouterr().err
    # 直せば通る
    (book / "b.md").write_text(PAGE_B, encoding="utf-8")
    assert build_html.sphinx_build(book, book) == 0


def test_warning_in_a_page_is_reported_again_until_fixed(tmp_path, capfd):
    book = _book(tmp_path)
    (book / "a.md").write_text(
        PAGE_A + "\n```{unknown-directive}\n```\n", encoding="utf-8"
    )
    assert build_html.sphinx_build(book, book) != 0
    capfd.readouterr()
    assert build_html.sphinx_build(book, book) != 0  # a は変わっていない
    assert "unknown-directive" in capfd.readouterr().err
