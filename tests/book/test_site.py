"""ウェブ版(make html → _build/html)の検査。

検査するのは、オフライン・ダウンロード・用語集・アクセシビリティ・ブラウザ。

1. オフライン:どのページも、インターネット上のスクリプト・スタイルシート・
   画像・フォントを読まない(``<script src>``・``<link href>``・
   ``<img src>``・CSS の ``url()``/``@import``・インラインのスクリプトや
   style の URL)。ページが読むローカルのファイルはすべて存在し、
   MathJax の入口のファイルもページが読む場所にある。
2. ダウンロード:コードセルを持つ目次の章ごとに、実行済みのノートブック
   (.ipynb)が ``_build/html/_sources/`` にあり、章のページからリンクされ、
   nbformat として正しく、出力を持つ。
3. 用語集と索引:用語集に主な用語があり、索引(genindex)から引け、
   用語集から索引へリンクがある。
4. アクセシビリティ:図の画像に代替テキストがあり、見出しの段が飛ばず、
   図の番号が順に並ぶ。
5. ブラウザ:ヘッドレスの Chromium で、``_build/html`` を 127.0.0.1 で
   配信して開き、数式が MathJax で組まれ(読み上げを有効にしたときの
   読み上げの文も)、図の画像とフォントが読み込まれ、日本語で検索すると
   結果が出て(検索語の分割が索引と同じで)、ページが 127.0.0.1 の外へ
   1 つもリクエストを出さないことを確かめる(Chromium の net log)。
   ``file://`` で直接開いたときも、数式と検索が動くことを確かめる。
   スクリーンショットも撮る(環境変数 ``MEDRNN_SCREENSHOT_DIR`` に
   保存先を指定すると残る。既定は一時フォルダ)。

``_build/html`` がまだないか、本のソース(章・設定・拡張・パッケージ)より
古ければ、理由つきで skip する(Chromium がなければブラウザの検査だけ
skip)。CI では ``MEDRNN_REQUIRE_HTML=1`` を付けて走らせ、これらを失敗に
する。Chromium は ``bash scripts/install_browser.sh`` で入る(Debian の
chromium と fonts-noto-cjk)。
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit

import nbformat
import pytest
from helpers import load_extension, toc_files

ROOT = Path(__file__).resolve().parents[2]


medrnn_offline = load_extension("medrnn_offline")
medrnn_downloads = load_extension("medrnn_downloads")
HTML_DIR = ROOT / "_build" / "html"
TOC = ROOT / "_toc.yml"
REQUIRE = os.environ.get("MEDRNN_REQUIRE_HTML") == "1"
MATHJAX_ENTRY = "mathjax/tex-mml-chtml.js"
DOWNLOAD_DIR = "_sources"  # book/_ext/medrnn_downloads.py と同じ

# 用語集に必ずある用語(日本語と英語)
GLOSSARY_TERMS = [
    "隠れ状態",
    "hidden state",
    "勾配消失",
    "vanishing gradient",
    "誤差逆伝播",
    "backpropagation",
    "BPTT",
    "セル状態",
    "忘却ゲート",
    "入力ゲート",
    "出力ゲート",
    "更新ゲート",
    "リセットゲート",
    "ノイズフロア",
    "持続予測",
    "線形自己回帰",
    "早期終了",
    "過学習",
    "正規化",
    "標準化",
    "ミニバッチ",
    "エポック",
    "学習率",
    "勾配クリッピング",
    "テストデータ",
    "検証データ",
]
# ブラウザで日本語検索するときの語と、結果に必ず出るべきページ
SEARCHES = {"隠れ状態": "book/rnn.html", "ノイズフロア": "book/lstm.html"}

# 読み込まれない <link>(ページ間の移動や別の表現を示すだけのもの)
NAVIGATION_RELS = {
    "canonical",
    "alternate",
    "author",
    "license",
    "next",
    "prev",
    "index",
    "search",
    "help",
    "copyright",
    "top",
    "up",
    "first",
    "last",
    "bookmark",
    "nofollow",
    "noopener",
    "noreferrer",
    "external",
}
# リソースを読み込む属性
RESOURCE_ATTRS = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "iframe": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
}
REMOTE_RE = re.compile(
    r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE
)  # http://, https://, //
URL_IN_TEXT_RE = re.compile(
    r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", re.IGNORECASE
)
CSS_URL_RE = re.compile(
    r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""",
    re.IGNORECASE,
)
VOID_TAGS = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--lang=ja",
    # 127.0.0.1 以外の名前はすべて解決できないようにする
    # (万一のリクエストも外へ出ない)
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def _missing(what: str) -> None:
    """ビルドや Chromium がないとき:普段は skip、
    MEDRNN_REQUIRE_HTML=1 なら失敗。
    """
    if REQUIRE:
        pytest.fail(f"{what}(MEDRNN_REQUIRE_HTML=1 なので失敗にします)")
    pytest.skip(what)


def is_remote(url: str) -> bool:
    """インターネット上を指す URL(http://・https://・// で始まるもの)か。"""
    return bool(REMOTE_RE.match(url or ""))


def srcset_urls(value: str) -> list[str]:
    """srcset の値から URL だけを取り出す。"""
    return [
        part.strip().split()[0] for part in value.split(",") if part.strip()
    ]


# --- HTML の読み取り ---------------------------------------------------------


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    ancestors: tuple[str, ...]  # 外側から順のタグ名


@dataclass
class Page:
    path: Path
    elements: list[Element] = field(default_factory=list)
    inline_scripts: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    # <article> の中の見出し:(段, 文字列)
    headings: list[tuple[int, str]] = field(default_factory=list)
    # <article> の中の図の番号("図 1.2" など)
    caption_numbers: list[str] = field(default_factory=list)

    @property
    def rel(self) -> str:
        return self.path.relative_to(HTML_DIR).as_posix()

    def find(self, tag: str) -> list[Element]:
        return [el for el in self.elements if el.tag == tag]


class _PageParser(HTMLParser):
    def __init__(self, page: Page) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.text_target: list[str] | None = None
        self.heading: tuple[int, list[str]] | None = None
        self.caption: list[str] | None = None

    def _in(self, tag: str, cls: str | None = None) -> bool:
        return any(
            t == tag and (cls is None or cls in a.get("class", "").split())
            for t, a in self.stack
        )

    def handle_starttag(self, tag, attrs):
        attrs = {k: (v or "") for k, v in attrs}
        self.page.elements.append(
            Element(tag, attrs, tuple(t for t, _ in self.stack))
        )
        if (tag == "script" and "src" not in attrs) or tag == "style":
            self.text_target = []
        if "style" in attrs:
            self.page.styles.append(attrs["style"])
        in_article = self._in("article", "bd-article")
        if in_article and re.fullmatch(r"h[1-6]", tag):
            self.heading = (int(tag[1]), [])
        if (
            in_article
            and tag == "span"
            and "caption-number" in attrs.get("class", "").split()
        ):
            self.caption = []
        if tag not in VOID_TAGS:
            self.stack.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS and self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.text_target is not None:
            text = "".join(self.text_target)
            (
                self.page.inline_scripts
                if tag == "script"
                else self.page.styles
            ).append(text)
            self.text_target = None
        if self.heading is not None and tag == f"h{self.heading[0]}":
            self.page.headings.append(
                (self.heading[0], "".join(self.heading[1]).strip())
            )
            self.heading = None
        if self.caption is not None and tag == "span":
            self.page.caption_numbers.append("".join(self.caption).strip())
            self.caption = None
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if self.text_target is not None:
            self.text_target.append(data)
        if self.heading is not None:
            self.heading[1].append(data)
        if self.caption is not None:
            self.caption.append(data)


def parse_page(path: Path) -> Page:
    page = Page(path)
    parser = _PageParser(page)
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return page


def page_resources(page: Page) -> list[tuple[str, str]]:
    """ページが読み込むリソースの (説明, URL) の一覧。"""
    found = []
    for el in page.elements:
        if el.tag == "link":
            rels = set(el.attrs.get("rel", "").lower().split())
            if el.attrs.get("href") and not rels <= NAVIGATION_RELS:
                found.append(
                    (f"<link rel={' '.join(sorted(rels))}>", el.attrs["href"])
                )
        for attr in RESOURCE_ATTRS.get(el.tag, ()):
            value = el.attrs.get(attr)
            if not value:
                continue
            urls = srcset_urls(value) if attr == "srcset" else [value]
            found.extend((f"<{el.tag} {attr}>", url) for url in urls)
        if (
            el.tag == "meta"
            and el.attrs.get("http-equiv", "").lower() == "refresh"
        ):
            match = re.search(
                r"url=(.+)$", el.attrs.get("content", ""), re.IGNORECASE
            )
            if match:
                found.append(("<meta refresh>", match.group(1).strip()))
    for style in page.styles:
        for match in CSS_URL_RE.finditer(style):
            found.append(
                ("style の url()/@import", match.group(1) or match.group(2))
            )
    return found


def local_target(base: Path, url: str) -> Path | None:
    """ページ(または CSS)から相対の URL が指すローカルのファイル。

    data: などは None。
    """
    parts = urlsplit(url)
    if parts.scheme or url.startswith("#") or not parts.path:
        return None
    return (base.parent / unquote(parts.path)).resolve()


# --- 目次 -------------------------------------------------------------------


def code_cell_count(docname: str) -> int:
    """MyST Markdown の章にある ```{code-cell} の数。"""
    source = ROOT / f"{docname}.md"
    if not source.is_file():
        return 0
    return len(
        re.findall(
            r"^`{3,}\{code-cell\}",
            source.read_text(encoding="utf-8"),
            re.MULTILINE,
        )
    )


def chapters_with_code() -> list[str]:
    return [doc for doc in toc_files() if code_cell_count(doc) > 0]


# --- フィクスチャ ------------------------------------------------------------


def stale_sources() -> list[str]:
    """最後のビルド(_build/html/searchindex.js)より新しい、本のソース(目次の章・設定・拡張など)。"""
    built = (HTML_DIR / "searchindex.js").stat().st_mtime
    sources = [
        ROOT / "_config.yml",
        ROOT / "_toc.yml",
        *(ROOT / f"{doc}.md" for doc in toc_files()),
        *ROOT.glob("book/_ext/*.py"),
        *ROOT.glob("book/*.bib"),
        *ROOT.glob("code/medrnn/**/*.py"),
    ]
    return sorted(
        str(p.relative_to(ROOT))
        for p in sources
        if p.is_file() and p.stat().st_mtime > built
    )


@pytest.fixture(scope="module")
def html_dir() -> Path:
    if (
        not (HTML_DIR / "index.html").is_file()
        or not (HTML_DIR / "searchindex.js").is_file()
    ):
        _missing(f"{HTML_DIR} がありません(先に make html を実行してください)")
    if stale := stale_sources():
        _missing(
            f"{HTML_DIR} が古い"
            f"(あとで変わったファイル: {', '.join(stale[:5])})。"
            "make html で作り直してください"
        )
    return HTML_DIR


@pytest.fixture(scope="module")
def pages(html_dir: Path) -> list[Page]:
    return [
        parse_page(path)
        for path in sorted(html_dir.rglob("*.html"))
        if "_static" not in path.relative_to(html_dir).parts
    ]


@pytest.fixture(scope="module")
def chapter_pages(pages: list[Page]) -> dict[str, Page]:
    """目次に並ぶ文書のページ(文書名 → Page)。"""
    by_rel = {page.rel: page for page in pages}
    found = {}
    for doc in toc_files():
        page = by_rel.get(f"{doc}.html")
        assert page is not None, (
            f"目次の {doc} のページ {doc}.html がありません"
        )
        found[doc] = page
    return found


# --- 1. オフライン -----------------------------------------------------------


def test_pages_load_nothing_from_the_internet(pages: list[Page]) -> None:
    remote = [
        f"{page.rel}: {what} {url}"
        for page in pages
        for what, url in page_resources(page)
        if is_remote(url)
    ]
    assert not remote, (
        "インターネットから読み込むリソースがあります:\n" + "\n".join(remote)
    )


def test_inline_scripts_contain_no_urls(pages: list[Page]) -> None:
    """インラインのスクリプトに外部の URL がない
    (sphinx-thebe の unpkg.com なども)。
    """
    found = [
        f"{page.rel}: {url}"
        for page in pages
        for script in page.inline_scripts
        for url in URL_IN_TEXT_RE.findall(script)
    ]
    assert not found, (
        "インラインのスクリプトに外部の URL があります:\n" + "\n".join(found)
    )


def test_stylesheets_load_nothing_from_the_internet(html_dir: Path) -> None:
    """_static と mathjax のすべての CSS の url()・@import(フォントを含む)が
    ローカルで、存在する。
    """
    sheets = sorted(html_dir.rglob("*.css"))
    assert sheets, "CSS が 1 つもありません"
    problems = []
    for sheet in sheets:
        text = re.sub(
            r"/\*.*?\*/",
            "",
            sheet.read_text(encoding="utf-8", errors="replace"),
            flags=re.DOTALL,
        )
        for match in CSS_URL_RE.finditer(text):
            url = (match.group(1) or match.group(2)).strip()
            rel = sheet.relative_to(html_dir)
            if is_remote(url):
                problems.append(f"{rel}: 外部の {url}")
                continue
            target = local_target(sheet, url)
            if target is not None and not target.exists():
                problems.append(f"{rel}: ないファイル {url}")
    assert not problems, "\n".join(problems)


def test_local_resources_exist(pages: list[Page]) -> None:
    """ページが読むローカルのスクリプト・スタイルシート・画像がすべて存在する。"""
    broken = []
    for page in pages:
        for what, url in page_resources(page):
            target = None if is_remote(url) else local_target(page.path, url)
            if target is not None and not target.exists():
                broken.append(f"{page.rel}: {what} {url}")
    assert not broken, "存在しないファイルを読もうとしています:\n" + "\n".join(
        broken
    )


def test_mathjax_is_served_locally(
    html_dir: Path, chapter_pages: dict[str, Page]
) -> None:
    """数式のあるページは、ページから見た相対パスで手元の MathJax を読み、
    そのファイルがある。
    """
    entry = (html_dir / MATHJAX_ENTRY).resolve()
    assert entry.is_file(), f"{entry} がありません"
    fonts = list(
        (html_dir / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob(
            "*.woff"
        )
    )
    assert fonts, "MathJax の CHTML フォント(woff-v2)がありません"
    for part in medrnn_offline.SRE_MATHMAPS:  # 数式の読み上げの規則
        assert (html_dir / "mathjax" / part).is_file(), (
            f"mathjax/{part} がありません"
        )
    checked = 0
    for doc, page in chapter_pages.items():
        has_math = any(
            "math" in el.attrs.get("class", "").split() for el in page.elements
        )
        srcs = [
            el.attrs["src"]
            for el in page.find("script")
            if el.attrs.get("src", "")
            .split("?")[0]
            .endswith(Path(MATHJAX_ENTRY).name)
        ]
        if not has_math:
            continue
        assert len(srcs) == 1, (
            f"{doc}: MathJax を読むスクリプトが {len(srcs)} 個"
        )
        assert local_target(page.path, srcs[0]) == entry, (
            f"{doc}: {srcs[0]} は {entry} を指さない"
        )
        checked += 1
    assert checked >= 3, f"数式のある章が {checked} しか見つかりません"


# --- 2. ノートブックのダウンロード -------------------------------------------


@pytest.mark.parametrize("doc", chapters_with_code())
def test_chapter_offers_executed_notebook(
    doc: str, html_dir: Path, chapter_pages: dict[str, Page]
) -> None:
    page = chapter_pages[doc]
    target = (html_dir / DOWNLOAD_DIR / f"{doc}.ipynb").resolve()
    links = [
        el
        for el in page.find("a")
        if local_target(page.path, el.attrs.get("href", "")) == target
    ]
    # テーマのダウンロードボタンと、題名の下の案内の 2 か所
    assert len(links) >= 2, (
        f"{page.rel} から {target.name} へのリンクが {len(links)} 個"
    )
    assert target.is_file(), f"{target} がありません"

    nb = nbformat.read(target, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("language") == "python"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert len(code) == code_cell_count(doc), (
        "章の .md とコードセルの数が違います"
    )
    assert all(cell.execution_count is not None for cell in code), (
        "実行されていないセルがあります"
    )
    assert any(cell.outputs for cell in code), "出力が 1 つもありません"
    errors = [
        o for cell in code for o in cell.outputs if o.output_type == "error"
    ]
    assert not errors, "エラーの出力があります"
    markdown = "\n".join(
        cell.source for cell in nb.cells if cell.cell_type == "markdown"
    )
    assert "{glue" not in markdown, (
        "本文に glue の記法が残っています(値に置き換わっていない)"
    )
    assert "{literalinclude}" not in markdown, (
        "パッケージのコードの引用が展開されていません"
    )
    source = (ROOT / f"{doc}.md").read_text(encoding="utf-8")
    n_figures = len(re.findall(r"^`{3,}\{glue:figure\}", source, re.MULTILINE))
    images = [
        o
        for cell in code
        for o in cell.outputs
        if {"image/png", "image/svg+xml"} & set(o.get("data", {}))
    ]
    assert len(images) >= n_figures, (
        f"図が {n_figures} 個あるのに PNG・SVG の出力は {len(images)} 個"
    )


def _glue_output(
    key: str, data: dict, display: bool = False
) -> nbformat.NotebookNode:
    prefix = "" if display else medrnn_downloads.GLUE_PREFIX
    return nbformat.v4.new_output(
        "display_data",
        data={prefix + k: v for k, v in data.items()},
        metadata={"scrapbook": {"name": key, "mime_prefix": prefix}},
    )


def test_reader_notebook_shows_glued_values(tmp_path: Path) -> None:
    """ビルドを待たずに:glue の値が本文に入り、図は見える出力になり、
    引用が展開される。
    """
    cell = nbformat.v4.new_code_cell(
        "glue(...)",
        execution_count=1,
        outputs=[
            _glue_output("mse", {"text/plain": "0.041234"}),
            _glue_output(
                "fig",
                {
                    "image/svg+xml": "<svg/>",
                    "application/pdf": "JVBE",
                    "text/plain": "<Figure>",
                },
            ),
            nbformat.v4.new_output("stream", name="stdout", text="ok\n"),
        ],
    )
    markdown = nbformat.v4.new_markdown_cell(
        "MSE は {glue:text}`mse:.3f`、"
        "ない鍵は {glue:text}`missing` のまま。\n\n"
        "```{glue:figure} fig\n:name: fig-x\n:alt: 代替\n\n図の説明。\n```\n\n"
        "```{literalinclude} ../code/medrnn/core/evaluation.py\n"
        ":pyobject: mse\n```"
    )
    nb = nbformat.v4.new_notebook(
        cells=[cell, markdown],
        metadata={
            "kernelspec": {
                "name": "python3",
                "language": "python",
                "display_name": "Python 3",
            },
            "source_map": [1, 2],
        },
    )
    out = medrnn_downloads.reader_notebook(nb, ROOT / "book", ROOT, "章", "本")
    header, code, text = out.cells
    assert "『本』「章」" in header.source
    assert [o.get("output_type") for o in code.outputs] == [
        "display_data",
        "stream",
    ]
    assert set(code.outputs[0]["data"]) == {
        "image/svg+xml",
        "text/plain",
    }  # PDF 版の図は除く
    assert (
        "MSE は 0.041、" in text.source
        and "{glue:text}`missing`" in text.source
    )
    assert "**図**(上のセルの出力)図の説明。" in text.source
    assert "# code/medrnn/core/evaluation.py の mse\ndef mse(" in text.source
    assert "source_map" not in out.metadata
    assert (
        nb.cells[0]
        .outputs[0]["data"]
        .get(medrnn_downloads.GLUE_PREFIX + "text/plain")
    )


# --- 3. 用語集と索引 ---------------------------------------------------------


def _glossary_terms(page: Page) -> dict[str, str]:
    """用語集のページの用語(文字列 → id)。"""
    text = page.path.read_text(encoding="utf-8")
    terms = {}
    for match in re.finditer(
        r'<dt id="([^"]+)">(.*?)<a class="headerlink"', text, re.DOTALL
    ):
        term = re.sub(r"<[^>]+>", "", match.group(2)).strip()
        terms[term] = match.group(1)
    return terms


def test_glossary_has_the_books_terms(chapter_pages: dict[str, Page]) -> None:
    glossary = chapter_pages.get("book/glossary")
    assert glossary is not None, "_toc.yml に book/glossary がありません"
    terms = _glossary_terms(glossary)
    missing = [term for term in GLOSSARY_TERMS if term not in terms]
    assert not missing, f"用語集にない用語: {missing}"


def test_glossary_terms_are_in_the_index(
    html_dir: Path, chapter_pages: dict[str, Page]
) -> None:
    glossary = chapter_pages["book/glossary"]
    index = (html_dir / "genindex.html").read_text(encoding="utf-8")
    terms = _glossary_terms(glossary)
    missing = [
        term
        for term, node_id in terms.items()
        if f"book/glossary.html#{node_id}" not in index
    ]
    assert not missing, f"索引から引けない用語: {missing}"
    genindex = (html_dir / "genindex.html").resolve()
    to_index = [
        el
        for el in glossary.find("a")
        if local_target(glossary.path, el.attrs.get("href", "")) == genindex
    ]
    assert to_index, "用語集から索引(genindex.html)へのリンクがありません"


# --- 4. アクセシビリティ -----------------------------------------------------


def test_figures_have_alt_text(chapter_pages: dict[str, Page]) -> None:
    missing, n_figures = [], 0
    for doc, page in chapter_pages.items():
        for img in page.find("img"):
            if "figure" in img.ancestors or "article" in img.ancestors:
                n_figures += "figure" in img.ancestors
                if not img.attrs.get("alt", "").strip():
                    missing.append(f"{doc}: {img.attrs.get('src')}")
    assert n_figures > 0, "図が 1 つも見つかりません"
    assert not missing, "代替テキスト(alt)のない画像:\n" + "\n".join(missing)


def test_headings_are_in_order(chapter_pages: dict[str, Page]) -> None:
    """各ページの本文は h1 が 1 つで始まり、
    見出しの段は 1 段ずつしか深くならない。
    """
    problems = []
    for doc, page in chapter_pages.items():
        levels = [level for level, _ in page.headings]
        if not levels or levels[0] != 1 or levels.count(1) != 1:
            problems.append(
                f"{doc}: h1 で始まらないか h1 が 1 つでない {levels[:5]}"
            )
        for (prev, _), (level, text) in zip(page.headings, page.headings[1:]):
            if level > prev + 1:
                problems.append(f"{doc}: h{prev} の直後に h{level}「{text}」")
    assert not problems, "\n".join(problems)


def test_figure_numbers_are_in_order(chapter_pages: dict[str, Page]) -> None:
    """章の中の図の番号が「図 N.1, N.2, …」と順に並ぶ(番号のない付録では
    「図 1, 2, …」)。
    """
    for doc, page in chapter_pages.items():
        numbers = page.caption_numbers
        if not numbers:
            continue
        parsed = [re.fullmatch(r"図\s*(\d+\.|)(\d+)", n) for n in numbers]
        assert all(parsed), f"{doc}: 図の番号の形が違います {numbers}"
        chapters = {m.group(1) for m in parsed}
        assert len(chapters) == 1, f"{doc}: 章番号が混ざっています {numbers}"
        assert [int(m.group(2)) for m in parsed] == list(
            range(1, len(parsed) + 1)
        ), f"{doc}: 図の番号が順に並んでいません {numbers}"


_CJK = "\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"


def test_no_line_break_between_japanese_characters(
    chapter_pages: dict[str, Page],
) -> None:
    """本文の日本語の文字どうしの間に改行がない(ブラウザでは空白に見える)。

    コード(<pre>)と数式は除く。
    book/_ext/medrnn_japanese.py が取り除いているはず。
    """
    problems = []
    for doc, page in chapter_pages.items():
        html = re.sub(
            r"<pre.*?</pre>|<script.*?</script>",
            "",
            page.path.read_text(),
            flags=re.S,
        )
        for m in re.finditer(rf".{{0,12}}[{_CJK}]\n[{_CJK}].{{0,12}}", html):
            problems.append(f"{doc}: {m.group()!r}")
    assert not problems, "日本語の文字の間の改行:\n" + "\n".join(problems[:20])


def test_status_page_uses_words_not_emoji(html_dir: Path) -> None:
    """状態ページの実行時間の表は、絵文字のフォントがなくても読める言葉で状態を示す。"""
    html = (html_dir / "book" / "status.html").read_text(encoding="utf-8")
    assert "\u2705" not in html and "\u274c" not in html
    assert html.count("成功") >= len(
        [
            f
            for f in toc_files()
            if "{code-cell}" in (ROOT / f"{f}.md").read_text()
        ]
    )


# --- 5. ブラウザ(ヘッドレス Chromium) ----------------------------------------

CHECK_PAGE = "/__medrnn_check__.html"
# このクエリのページは MathJax の読み上げを有効にして配信する
SPEECH_QUERY = "medrnn-speech=1"
# 長い行は、行末の \ で次の行へ続けている(\ と改行は文字列に入らないので、
# JavaScript には 1 行として渡る)。
CHECK_SCRIPT = """
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(cond, ms) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    try { if (cond()) return true; } catch (e) {}
    await sleep(50);
  }
  return false;
}
function load(url) {
  return new Promise((resolve) => {
    const frame = document.createElement("iframe");
    frame.width = 1200; frame.height = 900;
    frame.onload = () => resolve(frame);
    frame.src = url;
    document.body.appendChild(frame);
  });
}
async function checkPage(url) {
  const frame = await load(url);
  const w = frame.contentWindow, d = frame.contentDocument;
  const usesMathJax = !!d.querySelector('script[src*="tex-mml-chtml"]');
  let mathError = null;
  if (usesMathJax) {
    await until(() => w.MathJax && w.MathJax.startup && \
w.MathJax.startup.promise, 20000);
    try { await w.MathJax.startup.promise; } \
catch (e) { mathError = String(e); }
  }
  // 読み上げが有効なら、MathJax は各数式の mjx-container に\
読み上げの文(aria-label)を付ける
  const speechLabels = () => \
d.querySelectorAll("mjx-container[aria-label]").length;
  if (url.includes(CONFIG.speechQuery)) \
await until(() => speechLabels() > 0, 20000);
  const images = Array.from(d.querySelectorAll("img"));
  await until(() => images.every((img) => img.complete), 20000);
  await d.fonts.ready;
  const maths = Array.from(d.querySelectorAll(".math"));
  const result = {
    url, usesMathJax, mathError,
    math: maths.length,
    mathTypeset: maths.filter((m) => m.querySelector("mjx-container")).length,
    mjx: d.querySelectorAll("mjx-container").length,
    mathErrors: d.querySelectorAll("mjx-merror").length,
    speech: speechLabels(),
    images: images.map((img) => ({src: img.getAttribute("src"), \
width: img.naturalWidth})),
    fontsFailed: Array.from(d.fonts).filter((f) => f.status === "error")\
.map((f) => f.family),
    fontsLoaded: Array.from(d.fonts).filter((f) => f.status === "loaded")\
.map((f) => f.family),
  };
  frame.remove();
  return result;
}
// 幅 width の画面でページを開き、横にはみ出すものを数える
async function checkLayout(url, width) {
  const frame = document.createElement("iframe");
  frame.width = width; frame.height = 900;
  await new Promise((resolve) => {
    frame.onload = resolve; frame.src = url; document.body.appendChild(frame);
  });
  const w = frame.contentWindow, d = frame.contentDocument;
  if (d.querySelector('script[src*="tex-mml-chtml"]')) {
    await until(() => w.MathJax && w.MathJax.startup && \
w.MathJax.startup.promise, 20000);
    try { await w.MathJax.startup.promise; } catch (e) {}
  }
  const images = Array.from(d.querySelectorAll(".bd-article img"));
  await until(() => images.every((img) => img.complete), 20000);
  await d.fonts.ready;
  await sleep(200);
  const wide = (el) => el.scrollWidth > el.clientWidth + 1;
  const label = (el) => (el.textContent || "").trim().slice(0, 60);
  const article = d.querySelector(".bd-article") || d.body;
  const result = {
    url, width,
    pageOverflow: d.documentElement.scrollWidth - w.innerWidth,
    // 欄より広いコード(入力のリスティング。出力は折り返す)
    wideCode: Array.from(article.querySelectorAll("div.highlight pre"))\
.filter(wide).map(label),
    // 箱より広い別行立ての数式
    wideMath: Array.from(article.querySelectorAll(\
'mjx-container[display="true"]')).filter(wide).map((el) => \
el.closest(".math") ? el.closest(".math").id || label(el) : label(el)),
    // 切り取られて見えない(横に動かせない)別行立ての数式
    clippedMath: Array.from(article.querySelectorAll(\
'mjx-container[display="true"]')).filter((el) => wide(el) && \
!["auto", "scroll"].includes(w.getComputedStyle(el).overflowX)).map(label),
    // 図: ビットマップを表示の 2 倍未満の解像度で見せていないか
    blurryImages: images.filter((img) => !img.src.endsWith(".svg") && \
img.naturalWidth < 2 * img.clientWidth).map((img) => img.getAttribute("src")),
    svgImages: images.filter((img) => img.src.endsWith(".svg")).length,
  };
  frame.remove();
  return result;
}
async function checkSearch(url) {
  const frame = await load(url);
  const d = frame.contentDocument;
  const done = await until(() => {
    const box = d.getElementById("search-results");
    return box && (box.querySelectorAll("li").length > 0 || \
box.querySelector("p.search-summary"));
  }, 20000);
  await sleep(500);  // 結果は少しずつ足されるので、落ち着くのを待つ
  const box = d.getElementById("search-results");
  const w = frame.contentWindow;
  const result = {
    url, done,
    splits: CONFIG.splitSamples.map((text) => \
(w.splitQuery ? w.splitQuery(text) : null)),
    hits: box ? Array.from(box.querySelectorAll("li a"))\
.map((a) => a.getAttribute("href")) : [],
    summary: box ? (box.querySelector("p.search-summary") || {})\
.textContent || "" : "",
  };
  frame.remove();
  return result;
}
(async () => {
  const out = {pages: [], searches: [], layout: []};
  for (const url of CONFIG.pages) out.pages.push(await checkPage(url));
  for (const [url, width] of CONFIG.layout) \
out.layout.push(await checkLayout(url, width));
  for (const url of CONFIG.searches) out.searches.push(await checkSearch(url));
  document.getElementById("result").textContent = JSON.stringify(out);
})().catch((e) => {
  document.getElementById("result").textContent = \
JSON.stringify({error: String(e)});
});
"""


def chromium_path() -> str | None:
    for name in (
        os.environ.get("MEDRNN_CHROMIUM"),
        "chromium",
        "chromium-browser",
        "google-chrome",
    ):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="module")
def chromium(html_dir: Path) -> str:
    path = chromium_path()
    if path is None:
        _missing(
            "Chromium がありません(bash scripts/install_browser.sh で入ります)"
        )
    return path


def run_chromium(
    chromium: str, url: str, *extra: str, timeout: int = 120
) -> str:
    """新しいプロファイルでヘッドレスの Chromium を 1 回動かし、
    標準出力を返す。
    """
    with tempfile.TemporaryDirectory(prefix="medrnn-chromium-") as profile:
        result = subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                *extra,
                url,
            ],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            check=False,
        )
    if result.returncode != 0:
        pytest.fail(
            f"Chromium が失敗しました({result.returncode}):\n"
            f"{result.stderr[-2000:]}"
        )
    return result.stdout


class _Handler(http.server.SimpleHTTPRequestHandler):
    """_build/html を配信し、検査用のページを足し、リクエストを記録する。"""

    check_page = ""
    requests: list[tuple[str, int]]

    def do_GET(self):
        path, _, query = self.path.partition("?")
        if SPEECH_QUERY in query and path.endswith(".html"):
            # MathJax のメニューで読み上げ(explorer)を有効にした
            # 読者と同じ状態のページ
            text = (Path(self.directory) / path.lstrip("/")).read_text(
                encoding="utf-8"
            )
            text = text.replace(
                'window.MathJax = {"options": {',
                'window.MathJax = {"options": {"menuOptions": '
                '{"settings": {"explorer": true}}, ',
                1,
            )
            self._send_html(text)
            return
        if path == CHECK_PAGE:
            self._send_html(self.check_page)
            return
        super().do_GET()

    def _send_html(self, text: str) -> None:
        body = text.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.requests.append((self.path, 200))

    def log_request(self, code="-", size="-"):
        if (
            self.path.split("?")[0] != CHECK_PAGE
            and SPEECH_QUERY not in self.path
        ):
            self.requests.append(
                (self.path, int(code) if str(code).isdigit() else 0)
            )

    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def server(html_dir: Path):
    """_build/html を 127.0.0.1 の空いているポートで配信する。"""
    handler = type("Handler", (_Handler,), {"requests": []})
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(html_dir))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.origin = f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.handler = handler
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _check_page_html(
    pages: list[str],
    searches: list[str],
    split_samples: list[str],
    layout: list[tuple[str, int]] | None = None,
) -> str:
    config = json.dumps(
        {
            "pages": pages,
            "layout": layout or [],
            "searches": searches,
            "splitSamples": split_samples,
            "speechQuery": SPEECH_QUERY,
        },
        ensure_ascii=False,
    ).replace("</", "<\\/")
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<title>check</title></head>"
        "<body><pre id='result'>pending</pre>"
        f"<script>const CONFIG = {config};\n{CHECK_SCRIPT}</script>"
        "</body></html>"
    )


def read_net_log(path: Path) -> list[dict]:
    """Chromium の net log(JSON)の、URL を持つリクエストの一覧。

    各要素は url・initiator・network_isolation_key・
    net_error(失敗したとき)を持つ。
    """
    text = path.read_text(encoding="utf-8", errors="replace").rstrip()
    try:
        log = json.loads(text)
    except json.JSONDecodeError:  # 終わりが書かれずに止まったとき
        log = json.loads(text.rstrip(",") + "]}")
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    by_source: dict[int, dict] = {}
    for event in log.get("events", []):
        params = event.get("params") or {}
        source = event.get("source", {}).get("id")
        if (
            names.get(event.get("type")) == "URL_REQUEST_START_JOB"
            and "url" in params
        ):
            by_source.setdefault(
                source,
                {
                    "url": params["url"],
                    "initiator": params.get("initiator", ""),
                    "network_isolation_key": params.get(
                        "network_isolation_key", ""
                    ),
                    "net_error": None,
                },
            )
        if source in by_source and params.get("net_error") not in (None, 0):
            by_source[source]["net_error"] = params["net_error"]
    return list(by_source.values())


@pytest.fixture(scope="module")
def browser_report(
    chromium: str, server, chapter_pages: dict[str, Page], tmp_path_factory
) -> dict:
    """検査用のページを Chromium で開き、
    各章・検索の結果と net log を集める。
    """
    pages = [f"/{page.rel}" for page in chapter_pages.values()] + [
        "/genindex.html"
    ]
    pages.append(f"/book/rnn.html?{SPEECH_QUERY}")
    searches = [f"/search.html?q={quote(q)}" for q in SEARCHES]
    layout = [
        (f"/{page.rel}", width)
        for page in chapter_pages.values()
        for width in LAYOUT_WIDTHS
    ]
    server.handler.check_page = _check_page_html(
        pages, searches, split_samples(), layout
    )
    net_log = tmp_path_factory.mktemp("netlog") / "netlog.json"
    dom = run_chromium(
        chromium,
        server.origin + CHECK_PAGE,
        "--dump-dom",
        "--virtual-time-budget=300000",
        f"--log-net-log={net_log}",
    )
    match = re.search(r"<pre id=\"result\">(.*?)</pre>", dom, re.DOTALL)
    assert match, "検査用のページの結果が読めません:\n" + dom[-2000:]
    text = (
        match.group(1)
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )
    assert text != "pending", (
        "検査が時間内に終わりませんでした(--virtual-time-budget)"
    )
    report = json.loads(text)
    assert "error" not in report, (
        f"検査用のスクリプトが失敗しました: {report.get('error')}"
    )
    report["requests"] = read_net_log(net_log)
    report["served"] = list(server.handler.requests)
    report["origin"] = server.origin
    return report


# スマートフォン(390 px)と机の上の画面(1280 px)
LAYOUT_WIDTHS = (390, 1280)


def _layout(report: dict, width: int) -> list[dict]:
    pages = [p for p in report["layout"] if p["width"] == width]
    assert pages, f"幅 {width} px の検査の結果がありません"
    return pages


@pytest.mark.parametrize("width", LAYOUT_WIDTHS)
def test_no_page_scrolls_sideways(browser_report: dict, width: int) -> None:
    """どのページも、ページ全体が横に動かない(広い表・数式は自分の箱の中で
    動かす)。
    """
    wide = [
        f"{p['url']}: {p['pageOverflow']} px"
        for p in _layout(browser_report, width)
        if p["pageOverflow"] > 1
    ]
    assert not wide, f"幅 {width} px で横にはみ出すページ: " + "; ".join(wide)


@pytest.mark.parametrize("width", LAYOUT_WIDTHS)
def test_no_equation_is_clipped(browser_report: dict, width: int) -> None:
    clipped = [
        f"{p['url']}: {m}"
        for p in _layout(browser_report, width)
        for m in p["clippedMath"]
    ]
    assert not clipped, f"幅 {width} px で切れる数式: " + "; ".join(clipped)


def test_desktop_fits_code_and_equations(browser_report: dict) -> None:
    """1280 px の画面では、コードの引用も数式も欄に収まる(横に動かさずに
    読める)。
    """
    pages = _layout(browser_report, 1280)
    code = [f"{p['url']}: {c}" for p in pages for c in p["wideCode"]]
    math = [f"{p['url']}: {m}" for p in pages for m in p["wideMath"]]
    assert not code, "欄より広いコード: " + "; ".join(code[:10])
    assert not math, "欄より広い数式: " + "; ".join(math[:10])


def test_figures_are_sharp(browser_report: dict) -> None:
    """図は SVG か、表示の 2 倍以上の解像度のビットマップ。"""
    pages = _layout(browser_report, 1280)
    blurry = [f"{p['url']}: {src}" for p in pages for src in p["blurryImages"]]
    assert not blurry, "ぼやける図: " + "; ".join(blurry[:10])
    assert sum(p["svgImages"] for p in pages) >= 20, "SVG の図が少なすぎます"


def test_browser_typesets_math(browser_report: dict) -> None:
    math_pages = [p for p in browser_report["pages"] if p["math"] > 0]
    assert len(math_pages) >= 3, "数式のあるページが見つかりません"
    for page in math_pages:
        assert page["usesMathJax"] and page["mathError"] is None, page
        assert page["mathTypeset"] == page["math"], (
            f"{page['url']}: 数式 {page['math']} 個のうち "
            f"MathJax が組んだのは {page['mathTypeset']} 個"
        )
        assert page["mathErrors"] == 0, (
            f"{page['url']}: MathJax のエラーが {page['mathErrors']} 個"
        )


def test_browser_speaks_math_offline(browser_report: dict) -> None:
    """MathJax のメニューで読み上げ(explorer)を有効にすると、
    数式に読み上げの文が付く。

    読み上げの規則(mathjax/sre/mathmaps)も手元から読む
    (ないと 404 になり、読み上げが付かない)。
    """
    speech = [p for p in browser_report["pages"] if SPEECH_QUERY in p["url"]]
    assert speech and speech[0]["math"] > 0
    assert speech[0]["speech"] == speech[0]["math"], (
        f"数式 {speech[0]['math']} 個のうち"
        f"読み上げの文が付いたのは {speech[0]['speech']} 個"
    )
    plain = [
        p
        for p in browser_report["pages"]
        if SPEECH_QUERY not in p["url"] and p["math"]
    ]
    assert plain and all(p["mathTypeset"] == p["math"] for p in plain)


def test_browser_loads_figures_and_fonts(browser_report: dict) -> None:
    n_images = 0
    for page in browser_report["pages"]:
        broken = [img["src"] for img in page["images"] if img["width"] <= 0]
        assert not broken, f"{page['url']}: 読み込めなかった画像 {broken}"
        n_images += len(page["images"])
        assert not page["fontsFailed"], (
            f"{page['url']}: 読み込めなかったフォント {page['fontsFailed']}"
        )
    assert n_images >= 10, f"画像が {n_images} 個しかありません"
    loaded = {
        family
        for page in browser_report["pages"]
        for family in page["fontsLoaded"]
    }
    assert any(
        family.startswith(("MJXTEX", "MJXZERO")) for family in loaded
    ), f"MathJax のフォントが読み込まれていません: {sorted(loaded)}"


def test_browser_search_finds_japanese(browser_report: dict) -> None:
    for (query, expected), result in zip(
        SEARCHES.items(), browser_report["searches"]
    ):
        assert result["done"], f"「{query}」の検索が終わりません"
        hits = [
            urljoin("/search.html", href)
            .lstrip("/")
            .split("#")[0]
            .split("?")[0]
            for href in result["hits"]
        ]
        assert expected in hits, (
            f"「{query}」の検索結果に {expected} がありません: {hits}"
        )


def split_samples() -> list[str]:
    """検索語の分割を比べるための文:各章の本文の行(見出し・リスト・コード以外)から少しずつ。"""
    samples = list(SEARCHES)
    for doc in toc_files():
        source = ROOT / f"{doc}.md"
        if not source.is_file():
            continue
        text = re.sub(
            r"^(`{3,}|:{3,}).*?^\1\s*$",
            "",
            source.read_text(encoding="utf-8"),
            flags=re.DOTALL | re.MULTILINE,
        )
        lines = [
            line.strip()
            for line in text.splitlines()
            if re.search(r"[ぁ-んァ-ヴ一-龠]", line)
            and not line.startswith(("#", "|", ":"))
        ]
        samples.extend(lines[:8])
    return samples


def test_browser_splits_queries_like_the_index(browser_report: dict) -> None:
    """ブラウザの検索語の分割(language_data.js)が、
    索引を作った Sphinx の分割と同じ。
    """
    samples = split_samples()
    splits = browser_report["searches"][0]["splits"]
    assert None not in splits, "検索ページに splitQuery がありません"
    different = [
        (text, got, expected)
        for text, got in zip(samples, splits)
        if got != (expected := medrnn_offline.split_like_the_browser(text))
    ]
    assert len(samples) >= 20
    assert not different, "分割が索引と違います:\n" + "\n".join(
        map(str, different[:5])
    )


def test_browser_makes_no_request_outside_the_machine(
    browser_report: dict,
) -> None:
    """本のページが出したリクエストはすべて 127.0.0.1 宛てで、
    外へ出たリクエストは 1 つもない。

    ページ(とそれが読んだ CSS・スクリプト)が出したリクエストは、
    net log で initiator がページのオリジンになる。Chromium 自身も
    (更新の確認、アカウント、フォームの自動入力の問い合わせなどで)
    Google のサーバーへ問い合わせようとするが、それは initiator が
    ページでない(``not an origin``)ので本の失敗とはしない。
    ただし --host-resolver-rules で名前が解決できないので、それらも含めて
    1 つも外へ出ていない(すべて失敗した)ことを確かめる。
    """
    origin = browser_report["origin"]
    requests = browser_report["requests"]
    assert any(r["url"].startswith(origin) for r in requests), (
        "net log にページの記録がありません"
    )
    from_book, escaped = [], []
    for request in requests:
        host = urlsplit(request["url"]).hostname or ""
        if urlsplit(request["url"]).scheme not in (
            "http",
            "https",
            "ws",
            "wss",
        ):
            continue
        if host in LOCAL_HOSTS:
            continue
        if request["initiator"].startswith(
            origin
        ):  # ページ(とその CSS・スクリプト)が出した
            from_book.append(request["url"])
        if request["net_error"] is None:
            escaped.append(request["url"])
    assert not from_book, (
        "本のページが 127.0.0.1 の外へリクエストを出しました:\n"
        + "\n".join(from_book)
    )
    assert not escaped, (
        "外へ出た(失敗しなかった)リクエストがあります:\n" + "\n".join(escaped)
    )
    missing = [
        path
        for path, code in browser_report["served"]
        if code >= 400 and not path.startswith("/favicon.ico")
    ]
    assert not missing, f"サーバーにないファイルを読もうとしました: {missing}"


def _dump_file_url(chromium: str, path: Path, query: str = "") -> str:
    url = path.resolve().as_uri() + query
    return run_chromium(
        chromium, url, "--dump-dom", "--virtual-time-budget=30000"
    )


def test_file_url_typesets_math_and_searches(
    chromium: str, html_dir: Path
) -> None:
    """_build/html/index.html を直接(file://)開いたときも、数式が組まれ、日本語で検索できる。"""
    dom = _dump_file_url(chromium, html_dir / "book" / "rnn.html")
    assert dom.count("<mjx-container") >= 20, (
        "file:// で数式が組まれていません"
    )
    assert "<mjx-merror" not in dom
    query, expected = next(iter(SEARCHES.items()))
    dom = _dump_file_url(
        chromium, html_dir / "search.html", f"?q={quote(query)}"
    )
    results = re.search(r'<div id="search-results".*', dom, re.DOTALL)
    assert results and f'href="{expected}' in results.group(0), (
        f"file:// の検索で「{query}」の結果に {expected} がありません"
    )


SCREENSHOTS = {
    "intro": ("book/intro.html", ""),
    "rnn": ("book/rnn.html", ""),
    "glossary": ("book/glossary.html", ""),
    "search": ("search.html", f"?q={quote('隠れ状態')}"),
}


@pytest.mark.parametrize("name", SCREENSHOTS)
def test_screenshot(name: str, chromium: str, server, tmp_path: Path) -> None:
    """ページのスクリーンショットを撮り、白紙でないことを確かめる(人が見るために残せる)。"""
    from PIL import Image

    out_dir = Path(os.environ.get("MEDRNN_SCREENSHOT_DIR") or tmp_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / f"{name}.png"
    page, query = SCREENSHOTS[name]
    run_chromium(
        chromium,
        f"{server.origin}/{page}{query}",
        f"--screenshot={png}",
        "--window-size=1280,1800",
        "--virtual-time-budget=20000",
    )
    image = Image.open(png).convert("L")
    assert image.size == (1280, 1800)
    histogram = image.histogram()
    dark = sum(histogram[:128]) / (image.size[0] * image.size[1])
    assert dark > 0.01, f"{png} がほぼ白紙です(暗い画素 {dark:.2%})"
