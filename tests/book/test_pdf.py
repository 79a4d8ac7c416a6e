"""PDF 版(make pdf → _build/latex/book.pdf)の検査。

PDF がまだなければ、PDF を読む検査は理由つきで skip する。CI では
``MEDRNN_REQUIRE_PDF=1`` を付けて走らせ、PDF(と、数値を比べるための HTML)が
ないことを失敗にする。章の題名は _toc.yml に並ぶファイルの最初の「# 」見出し
から読むので、章が増えても検査は書き換えなくてよい。

PDF の文字は pdftotext で取り出し、NFKC で正規化して空白をすべて取り除いてから
比べる(和文と欧文の間の空白や改行の入り方は、組版によって変わるため)。
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import unicodedata
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from helpers import load_extension, toc_files

ROOT = Path(__file__).resolve().parents[2]
LATEX_DIR = ROOT / "_build" / "latex"
PDF = LATEX_DIR / "book.pdf"
TEX = LATEX_DIR / "book.tex"
LATEX_LOG = LATEX_DIR / "book.log"
BUILD_LOG = ROOT / "_build" / "pdf-build.log"
HTML_DIR = ROOT / "_build" / "html"
REQUIRE = os.environ.get("MEDRNN_REQUIRE_PDF") == "1"

medrnn_latex = load_extension("medrnn_latex")


def _missing(what: str) -> None:
    """PDF などがないとき:普段は skip、MEDRNN_REQUIRE_PDF=1 なら失敗。"""
    if REQUIRE:
        pytest.fail(f"{what}(MEDRNN_REQUIRE_PDF=1 なので失敗にします)")
    pytest.skip(what)


def _run(*command: str) -> str:
    if shutil.which(command[0]) is None:
        pytest.fail(
            f"{command[0]} がありません(poppler-utils を入れてください)"
        )
    return subprocess.run(
        command, check=True, capture_output=True, text=True, encoding="utf-8"
    ).stdout


def normalize(text: str) -> str:
    """NFKC で正規化し、空白をすべて取り除く。"""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


LONG_VALUE = (
    40  # これより長い glue の値(比較の 1 文など)は図にも割り込まれうる
)

# ページの下の柱の「1.6. 節の題名」(奇数ページ)
SECTION_FOOTER = re.compile(r"^\d+(\.\d+)+\.\s")


def without_running_heads(raw: str) -> str:
    """pdftotext の文字から、各ページの上の書名の行と、下のページ番号・
    章や節の題名の行を除いてつなぐ。

    ページの変わり目で文が柱に割り込まれても、本文の文字だけで数えられる
    ようにする(短い glue の値でも、ちょうどページをまたぐことがある)。
    """
    pages = [
        [line.strip() for line in page.split("\n") if line.strip()]
        for page in raw.split("\f")
    ]
    book_title = pages[0][0] if pages and pages[0] else ""
    # 偶数ページの下は「ページ番号・章の題名」。その題名を先に集める
    chapter_titles = {
        lines[-1] for lines in pages if len(lines) > 1 and lines[-2].isdigit()
    }
    bodies = []
    for lines in pages:
        if lines and lines[0].startswith(book_title):
            lines = lines[1:]
        if len(lines) > 1 and lines[-2].isdigit():
            lines = lines[:-2]  # ページ番号・章の題名
        elif lines and lines[-1].isdigit():
            lines = lines[:-1]  # ページ番号
            if lines and (
                SECTION_FOOTER.match(lines[-1]) or lines[-1] in chapter_titles
            ):
                lines = lines[:-1]  # 節(または番号なしの章)の題名
        bodies.append("\n".join(lines))
    return "\n".join(bodies)


def printed_count(value: str, pdf_text: str) -> int:
    """PDF の文字の中に value が何回出るか(空白を除いた文字どうしで)。

    比較の結果の 1 文のような長い値は、ページの変わり目で柱や図に
    割り込まれることがあるので、先頭と末尾の 20 文字がそれぞれ何回出るかの
    少ないほうを数える。
    """
    if len(value) <= LONG_VALUE:
        return pdf_text.count(value)
    return min(pdf_text.count(value[:20]), pdf_text.count(value[-20:]))


# --- 目次と章の題名 ----------------------------------------------------------


def first_heading(markdown: str) -> str | None:
    """フロントマターとコードブロックを除いた、最初の「# 」見出しの文字列。"""
    lines = markdown.splitlines()
    if lines and lines[0].strip() == "---":
        end = next(
            (
                i
                for i, line in enumerate(lines[1:], 1)
                if line.strip() == "---"
            ),
            0,
        )
        lines = lines[end + 1 :]
    fence = None
    for line in lines:
        stripped = line.strip()
        match = re.match(r"(`{3,}|~{3,})", stripped)
        if match:
            marker = match.group(1)
            if fence is None:
                fence = marker
            elif marker.startswith(fence) and stripped == marker:
                fence = None
            continue
        if fence is None and line.startswith("# "):
            return line[2:].strip()
    return None


def plain_title(title: str) -> str:
    """見出しの Markdown 記法(`、*、$)を取り除く。"""
    return re.sub(r"[`*$]", "", title).strip()


def chapter_titles() -> list[tuple[str, str]]:
    titles = []
    for name in toc_files():
        path = ROOT / f"{name}.md"
        assert path.is_file(), (
            f"_toc.yml の {name} に対応する {path} がありません"
        )
        heading = first_heading(path.read_text(encoding="utf-8"))
        assert heading, f"{path} に「# 」で始まる見出しがありません"
        titles.append((name, plain_title(heading)))
    return titles


# --- PDF を読む fixture ------------------------------------------------------


@pytest.fixture(scope="module")
def pdf() -> Path:
    if not PDF.is_file():
        _missing(
            f"{PDF.relative_to(ROOT)} がありません"
            "(先に make pdf を実行してください)"
        )
    return PDF


@pytest.fixture(scope="module")
def pdf_raw_text(pdf: Path) -> str:
    return _run("pdftotext", "-enc", "UTF-8", str(pdf), "-")


@pytest.fixture(scope="module")
def pdf_text(pdf_raw_text: str) -> str:
    return normalize(pdf_raw_text)


@pytest.fixture(scope="module")
def pdf_body_text(pdf_raw_text: str) -> str:
    """柱とページ番号を除いた本文の文字(空白なし)。"""
    return normalize(without_running_heads(pdf_raw_text))


@pytest.fixture(scope="module")
def pdf_info(pdf: Path) -> dict[str, str]:
    info = {}
    for line in _run("pdfinfo", str(pdf)).splitlines():
        key, _, value = line.partition(":")
        info[key.strip()] = value.strip()
    return info


# --- 検査 --------------------------------------------------------------------


def test_toc_files_and_titles_are_readable() -> None:
    titles = chapter_titles()
    assert len(titles) >= 2
    assert all(title for _, title in titles)


def test_every_chapter_title_is_in_pdf(pdf_text: str) -> None:
    # 目次と本文の見出しで少なくとも 2 回(前書きも番号なしの章として出る)
    missing = [
        f"{name}: {title}"
        for name, title in chapter_titles()
        if pdf_text.count(normalize(title)) < 2
    ]
    assert not missing, (
        "PDF の目次と見出しに見つからない章の題名: " + "; ".join(missing)
    )


def test_chapter_numbers_are_not_doubled(pdf_text: str) -> None:
    doubled = re.findall(r"第(\d+)章第\1章|第(\d+)章\2\.", pdf_text)
    assert not doubled, f"章番号が二重になっています: {doubled[:5]}"
    # 見出しに手で番号を書くと、LaTeX の「第 N 章」と二重になる
    numbered = [
        f"{name}: {title}"
        for name, title in chapter_titles()
        if re.match(r"(第\s*\d+\s*章|\d+(\.\d+)*[.\s])", title)
    ]
    assert not numbered, "見出しに手で番号が書かれています: " + "; ".join(
        numbered
    )
    assert "第1章" in pdf_text


def test_fonts_are_embedded_and_japanese(pdf: Path) -> None:
    rows = _run("pdffonts", str(pdf)).splitlines()[2:]
    assert rows, "pdffonts がフォントを 1 つも見つけませんでした"
    # 列は後ろから ID、object、uni、sub、emb(型の名前に空白が入るため)
    not_embedded = [row for row in rows if row.split()[-5] != "yes"]
    assert not not_embedded, "埋め込まれていないフォント:\n" + "\n".join(
        not_embedded
    )
    names = " ".join(row.split()[0] for row in rows)
    assert "HaranoAjiMincho" in names, (
        "本文の和文フォント(原ノ味明朝)がありません"
    )
    assert "HaranoAjiGothic" in names, (
        "見出しの和文フォント(原ノ味角ゴシック)がありません"
    )


def test_page_count_and_size_are_plausible(pdf_info: dict[str, str]) -> None:
    pages = int(pdf_info["Pages"])
    n_files = len(chapter_titles())
    # 表紙・目次と、ファイルごとに少なくとも 1 ページ。上限は暴走の検出用
    assert n_files + 2 <= pages <= 1000, f"ページ数 {pages} は不自然です"
    assert pdf_info["Page size"].startswith("595.28 x 841.89"), pdf_info[
        "Page size"
    ]


def test_no_missing_glyphs_in_logs(pdf: Path) -> None:
    assert LATEX_LOG.is_file(), f"{LATEX_LOG} がありません"
    latex_log = LATEX_LOG.read_text(encoding="utf-8", errors="replace")
    assert "Missing character" not in latex_log, (
        "欧文フォントにない文字があります"
    )
    if BUILD_LOG.is_file():
        build_log = BUILD_LOG.read_text(encoding="utf-8", errors="replace")
        assert "No character mapping available" not in build_log, (
            "和文フォントにない文字があります"
            "(_build/pdf-build.log を見てください)"
        )


def test_notebook_figures_are_vector(pdf: Path) -> None:
    tex = TEX.read_text(encoding="utf-8")
    # myst-nb の出力は内容のハッシュ(16 進 64 文字)の名前で書き出される
    figures = re.findall(
        r"\\sphinxincludegraphics(?:\[[^\]]*\])?\{\{([0-9a-f]{64})\}(\.\w+)\}",
        tex,
    )
    raster = sorted({name + ext for name, ext in figures if ext != ".pdf"})
    assert not raster, f"ベクター(PDF)でない図があります: {raster}"


class _PastedText(HTMLParser):
    """HTML の中の {glue:text} の出力(span.pasted-text)を順に集める。"""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[str] = []
        self._depth = 0
        self._parts: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if self._depth:
            self._depth += tag == "span"
        elif tag == "span" and "pasted-text" in classes:
            self._depth, self._parts = 1, []

    def handle_endtag(self, tag) -> None:
        if self._depth and tag == "span":
            self._depth -= 1
            if not self._depth:
                self.values.append("".join(self._parts))

    def handle_data(self, data) -> None:
        if self._depth:
            self._parts.append(data)


def html_glued_values() -> list[str]:
    """_toc.yml の順に、HTML の各ページの {glue:text} の値を並べる。"""
    pages = [HTML_DIR / f"{name}.html" for name, _ in chapter_titles()]
    absent = [str(p.relative_to(ROOT)) for p in pages if not p.is_file()]
    if absent:
        _missing(
            f"HTML がありません({', '.join(absent)})。"
            "先に make html を実行してください"
        )
    values: list[str] = []
    for page in pages:
        parser = _PastedText()
        parser.feed(page.read_text(encoding="utf-8"))
        values += parser.values
    return values


_TEX_UNESCAPE = [
    (r"\sphinxhyphen{}", "-"),
    (r"\textendash{}", "–"),
    (r"\textasciitilde{}", "~"),
    (r"\textasciicircum{}", "^"),
    (r"\textbackslash{}", "\\"),
    ("{[}", "["),
    ("{]}", "]"),
    (r"\_", "_"),
    (r"\%", "%"),
    (r"\&", "&"),
    (r"\#", "#"),
    (r"\$", "$"),
    (r"\{", "{"),
    (r"\}", "}"),
]


def latex_glued_values(tex: str) -> list[str]:
    """book.tex の \\DUrole{pasted-text}{...} の中身を、
    エスケープを戻して順に返す。
    """
    values = []
    for raw in re.findall(
        r"\\DUrole\{pasted-text\}\{((?:[^{}]|\{[^{}]*\})*)\}", tex
    ):
        raw = re.sub(
            r"\\texorpdfstring\{(?:[^{}]|\{[^{}]*\})*\}\{([^{}]*)\}",
            r"\1",
            raw,
        )
        for escaped, plain in _TEX_UNESCAPE:
            raw = raw.replace(escaped, plain)
        values.append(raw)
    return values


def test_glued_values_are_identical_in_html_and_pdf(
    pdf_body_text: str,
) -> None:
    newest_html = max(p.stat().st_mtime for p in HTML_DIR.rglob("*.html"))
    if PDF.stat().st_mtime < newest_html:
        _missing(
            "PDF が HTML より古いので比べられません。"
            "make pdf で作り直してください"
        )
    html_values = html_glued_values()
    if not html_values:
        pytest.skip("HTML に {glue:text} の値がありません")
    # 1. LaTeX に書き出された値が、HTML と同じ値の同じ回数
    #    (同じ実行キャッシュ)。
    #    脚注の位置が HTML と LaTeX で違うので、順番ではなく多重集合で比べる。
    tex_values = latex_glued_values(TEX.read_text(encoding="utf-8"))
    html_norm = [normalize(v) for v in html_values]
    html_count, tex_count = (
        Counter(html_norm),
        Counter(normalize(v) for v in tex_values),
    )
    assert html_count == tex_count, (
        "HTML と PDF で違う glue の値:HTML だけ "
        f"{dict(html_count - tex_count)}、"
        f"PDF だけ {dict(tex_count - html_count)}"
    )
    # 2. 読者が見る PDF の文字にも、HTML に n 回出る値が少なくとも n 回出る
    short = {
        v: html_norm.count(v)
        for v in set(html_norm)
        if v and printed_count(v, pdf_body_text) < html_norm.count(v)
    }
    assert not short, (
        f"PDF の文字に見つからない glue の値(値: HTML での回数): {short}"
    )


# --- 拡張 book/_ext/medrnn_latex.py(PDF がなくても走る) ----------------------


def test_fix_text_maps_symbols_to_math() -> None:
    out = medrnn_latex.fix_text("σ ⊙ C\u0303 ‖∂L‖ μV Scott\u00a0M.")
    assert r"\texorpdfstring{\(\sigma\)}{σ}" in out
    assert r"\texorpdfstring{\(\odot\)}{⊙}" in out
    assert r"\~{C}" in out
    assert r"\(\partial\)" in out and r"\(\|\)" in out
    assert r"\textmu{}" in out
    assert "Scott~M." in out


def test_fix_code_only_replaces_missing_glyphs() -> None:
    out = medrnn_latex.fix_code("# C_t = f ⊙ C\u0303 σ ∂ a\u00a0b")
    assert r"\(\odot\)" in out and r"\~{C}" in out
    assert "σ ∂" in out  # コードの中のギリシャ文字などは和文の等幅の字形のまま
    assert "a b" in out


def test_preface_latex_shifts_and_restores_levels() -> None:
    start = medrnn_latex.preface_start("はじめに")
    end = medrnn_latex.preface_end()
    assert start.startswith(r"\chapter*{はじめに}")
    assert r"\addcontentsline{toc}{chapter}{はじめに}" in start
    assert r"\let\chapter\medrnnSavedsection" in start
    for name in medrnn_latex.LEVELS:
        assert rf"\let\{name}\medrnnSaved{name}" in end


def test_backmatter_goes_before_the_first_unnumbered_document() -> None:
    from docutils import nodes
    from docutils.utils import new_document
    from sphinx import addnodes

    document = new_document("test")
    for name in ("book/rnn", "book/lstm", "book/primer", "book/glossary"):
        document += addnodes.start_of_file(docname=name)
    medrnn_latex._mark_backmatter(document, {"book/rnn", "book/lstm"})
    kinds = [type(node).__name__ for node in document.children]
    assert kinds == [
        "start_of_file",
        "start_of_file",
        "raw",
        "start_of_file",
        "start_of_file",
    ]
    raw = document[2]
    assert r"\setcounter{secnumdepth}{-1}" in raw.astext()
    assert isinstance(raw, nodes.raw) and raw["format"] == "latex"


def test_printed_count_survives_a_page_break() -> None:
    head = "差 -0.37(95% 区間 -0.84〜+0.10、"
    tail = "クリッピングありが良かったシード 3/5、判定: 判断できない)"
    value = normalize(head + tail)
    # ページの変わり目に柱・ページ番号・図の文字が割り込んだ文字
    split = normalize(f"…{head}クリッピングあり 3.3. 勾配 91 図の文字 {tail}…")
    assert printed_count(value, split) == 1
    assert printed_count(value, normalize("別の文")) == 0
    assert printed_count("0.25", "0.25 と 0.25") == 2


def test_bibliography_moves_into_its_chapter() -> None:
    from docutils import nodes
    from docutils.utils import new_document
    from sphinx import addnodes
    from sphinx.builders.latex.nodes import thebibliography

    document = new_document("test")
    for name in ("book/rnn", "book/bibliography", "book/status"):
        start = addnodes.start_of_file(docname=name)
        start += nodes.section()
        document += start
    document += thebibliography()
    assert medrnn_latex.move_bibliography(document, {"book/bibliography"})
    assert not any(isinstance(n, thebibliography) for n in document.children)
    moved = list(document[1].findall(thebibliography))
    assert len(moved) == 1 and not list(document[2].findall(thebibliography))


def test_bibliography_labels_are_author_year() -> None:
    from pybtex.database import parse_string

    medrnn_bib = load_extension("medrnn_bib")
    bib = parse_string(
        """
        @article{a, author = {Kingma, Diederik P. and Ba, Jimmy},
                 title = {Adam}, year = {2015}}
        @article{b, author = {Hochreiter, Sepp}, title = {X}, year = {1997}}
        @article{c, author = {Hochreiter, Sepp}, title = {Y}, year = {1997}}
        @article{d, author = {Cho, K. and van Merri{\\"e}nboer, B. and
                 Gulcehre, C.}, title = {Z}, year = {2014}}
        """,
        "bibtex",
    )
    entries = list(bib.entries.values())
    labels = list(medrnn_bib.AuthorYearLabelStyle().format_labels(entries))
    assert labels == [
        "Kingma and Ba, 2015",
        "Hochreiter, 1997a",
        "Hochreiter, 1997b",
        "Cho et al., 2014",
    ]


def test_running_heads_are_removed_across_a_page_break():
    raw = (
        "本の題名, 第 1 版\n本文の文が\n\n218\n\n第 7 章 バイタル\n\n\f"
        "本の題名, 第 1 版\nページをまたぐ。\n\n7.2. 節の題名\n\n219\n\f"
        "本の題名, 第 1 版\n付録の文\n\n付録: 入門\n\n221\n\f"
        "本の題名, 第 1 版\n次の文\n\n222\n\n付録: 入門\n"
    )
    body = normalize(without_running_heads(raw))
    assert body == "本文の文がページをまたぐ。付録の文次の文"
