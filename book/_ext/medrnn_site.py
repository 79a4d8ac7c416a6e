"""ウェブ版の体裁と案内を整える Sphinx 拡張(HTML だけ。PDF には何もしない)。

- テーマの英語のまま残る文字(検索欄の案内、フッター)を日本語にする。
- 検索欄を 1 つにする(左の目次の上の欄だけ。狭い画面では見出しの横の
  検索ボタン)。
- ダウンロードのメニューの「.pdf」(今のページを印刷するだけ)を、本全体の
  PDF 版(``make pdf`` が ``_build/html/book.pdf`` に置く)へのリンクにする。
- 本書の CSS(``book/_static/medrnn.css``)を読み込む: 狭い画面で表や数式が
  ページごと横に動かないようにする、など。
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config

STATIC = Path(__file__).resolve().parents[1] / "_static"
TEMPLATES = Path(__file__).resolve().parents[1] / "_templates"
BOOK_PDF = "book.pdf"  # _build/html の中の本全体の PDF(scripts/build_pdf.sh)
PDF_BUTTON = "download-pdf-button"
THEME_OPTIONS = {
    "search_bar_text": "本書を検索…",
    "navbar_persistent": [],  # 上の帯の検索欄は出さない(左の欄と重なる)
    "footer_content_items": ["medrnn-footer.html"],
}


def configure(app: Sphinx, config: Config) -> None:
    """テーマの設定に、本書の日本語の文字と検索欄・フッターを足す。"""
    config.html_theme_options = {**config.html_theme_options, **THEME_OPTIONS}
    # 本文から {{ repository_url }} で使えるように
    # (URL は _config.yml の 1 か所)
    url = config.html_theme_options.get("repository_url", "")
    config.myst_substitutions = {
        **config.myst_substitutions,
        "repository_url": url,
    }
    config.html_static_path = [*config.html_static_path, str(STATIC)]
    config.templates_path = [*config.templates_path, str(TEMPLATES)]


def book_pdf_button(url: str) -> dict:
    """ダウンロードのメニューに載せる、本全体の PDF へのリンク。"""
    return {
        "type": "link",
        "url": url,
        "text": "本全体の PDF",
        "tooltip": "本全体の PDF 版(make pdf で作られます)",
        "icon": "fas fa-file-pdf",
        "label": PDF_BUTTON,
    }


def replace_print_button(buttons: list[dict], url: str) -> int:
    """ボタンの並びの中の「.pdf」(印刷)を本全体の PDF へのリンクに
    置き換え、置き換えた数を返す(グループの中も探す)。
    """
    count = 0
    for i, button in enumerate(buttons):
        if button.get("type") == "group":
            count += replace_print_button(button["buttons"], url)
        elif button.get("label") == PDF_BUTTON:
            buttons[i] = book_pdf_button(url)
            count += 1
    return count


def page_context(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree
) -> None:
    """ページのボタン(sphinx-book-theme が作ったあと)を手直しする。"""
    buttons = context.get("header_buttons")
    if buttons is not None:
        replace_print_button(buttons, context["pathto"](BOOK_PDF, 1))
    context["medrnn_book_pdf"] = context["pathto"](BOOK_PDF, 1)
    context["medrnn_license"] = context["pathto"]("book/license")


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", configure, priority=900)
    # sphinx-book-theme がボタンを作る(優先度 501)より後に動く
    app.connect("html-page-context", page_context, priority=600)
    app.add_css_file("medrnn.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
