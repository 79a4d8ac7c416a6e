"""ウェブ版をインターネットなしで読めるようにする Sphinx 拡張。

MathJax を CDN から読む代わりに、PyPI のパッケージ django-static-mathjax に
入っている MathJax 3 を ``_build/html/mathjax/`` に写す。Jupyter Book 1 は
``_static/`` の下の .js を全ページに読み込ませてしまうので、``_static/`` の
外に置く。

また、Jupyter Book が必ず入れる sphinx-thebe は、各ページに unpkg.com の
thebe の URL を書いたスクリプトを差し込む(起動ボタンを押したときにだけ
読みに行く)。本書は thebe の起動ボタンを使わないので、その 2 つのスクリプトを
ページから外し、外部の URL がページに一切残らないようにする
(tests/book/test_site.py が確かめる)。

日本語の検索:``html_search_language: ja`` では、索引を作るときだけ Sphinx の
TinySegmenter(``sphinx.search.ja.DefaultSplitter``)が文を単語に分け、
ブラウザ側は検索語を空白と記号でしか分けない(sphinx-doc/sphinx#13395)。
そのため「隠れ状態」と入れても、索引の「隠れ」「状態」と合わず、本文が
見つからない。ここでは Sphinx の ``js_splitter_code`` の仕組みを使い、同じ
TinySegmenter のモデルと手順を JavaScript で書いた分割関数を
``language_data.js`` に入れる(1 文字の語は索引と同じく捨てる)。
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

from sphinx.search.ja import DefaultSplitter, SearchJapanese

MATHJAX_DIR = "mathjax"  # 出力先(_build/html の下)
MATHJAX_ENTRY = "tex-mml-chtml.js"
# 本のページで使う部分だけを写す。読み上げ(MathJax のメニューの
# 「Accessibility」で explorer を有効にしたとき)の規則は英語(en)と
# 点字(nemeth)と共通部分(base)だけ。
# ないと MathJax は mathjax/sre/mathmaps/*.json を読みに行って 404 になる。
SRE_MATHMAPS = (
    "sre/mathmaps/base.json",
    "sre/mathmaps/en.json",
    "sre/mathmaps/nemeth.json",
)
MATHJAX_PARTS = (
    MATHJAX_ENTRY,
    "output/chtml",
    "input/tex",
    "input/mml",
    "a11y",
    "ui",
    *SRE_MATHMAPS,
)


def mathjax_source() -> Path:
    """django-static-mathjax が入れた MathJax 3 (es5) のフォルダ。"""
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "MathJax が見つかりません: pip install django-static-mathjax"
        )
    return (
        Path(list(spec.submodule_search_locations)[0])
        / "static"
        / "mathjax"
        / "es5"
    )


def copy_mathjax(outdir: Path) -> Path:
    """MathJax の必要な部分を outdir/mathjax に写し、
    入口の .js のパスを返す。
    """
    src, dst = mathjax_source(), outdir / MATHJAX_DIR
    for part in MATHJAX_PARTS:
        if (src / part).is_dir():
            shutil.copytree(src / part, dst / part, dirs_exist_ok=True)
        else:
            (dst / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / part, dst / part)
    return dst / MATHJAX_ENTRY


def is_thebe_script(js) -> bool:
    """sphinx-thebe が差し込むスクリプト(設定の行と sphinx-thebe.js)か。"""
    filename = str(getattr(js, "filename", None) or "")
    body = str(getattr(js, "attributes", {}).get("body", ""))
    return filename.endswith("sphinx-thebe.js") or "THEBE_JS_URL" in body


def thebe_enabled(app) -> bool:
    """sphinx-book-theme の起動ボタンで thebe を使う設定になっているか。"""
    launch = (app.config.html_theme_options or {}).get("launch_buttons") or {}
    thebe_config = getattr(app.config, "thebe_config", None)
    always_load = (
        isinstance(thebe_config, dict)
        and thebe_config.get("always_load") is True
    )
    return bool(launch.get("thebe")) or always_load


def _on_html_page_context(
    app, pagename, templatename, context, doctree
) -> None:
    if "script_files" in context and not thebe_enabled(app):
        context["script_files"] = [
            js for js in context["script_files"] if not is_thebe_script(js)
        ]


# Python 版(sphinx/search/ja.py の DefaultSplitter.split)と 1 行ずつ同じ手順。
# UQ1 を 2 回使う・TC5 を使わない、という Python 版の書き方もそのまま写す。
_SPLITTER_JS = r"""
/* medrnn: 検索語を、索引と同じ TinySegmenter(sphinx.search.ja.DefaultSplitter)で分ける */
var splitQuery = (function () {
  const M = __MODEL__;
  const PATTERNS = __PATTERNS__.map(([p, v]) => [new RegExp("^" + p), v]);
  const ctype = (ch) => { for (const [re, v] of PATTERNS) if (re.test(ch)) return v; return "O"; };
  const ts = (d, k) => (Object.prototype.hasOwnProperty.call(d, k) ? d[k] : 0);
  function segment(input) {
    if (!input) return [];
    const chars = Array.from(input);
    const seg = ["B3", "B2", "B1", ...chars, "E1", "E2", "E3"];
    const ct = ["O", "O", "O", ...chars.map(ctype), "O", "O", "O"];
    const result = [];
    let word = seg[3], p1 = "U", p2 = "U", p3 = "U";
    for (let i = 4; i < seg.length - 3; i++) {
      let s = M.BIAS;
      const [w1, w2, w3, w4, w5, w6] = seg.slice(i - 3, i + 3);
      const [c1, c2, c3, c4, c5, c6] = ct.slice(i - 3, i + 3);
      s += ts(M.UP1, p1) + ts(M.UP2, p2) + ts(M.UP3, p3);
      s += ts(M.BP1, p1 + p2) + ts(M.BP2, p2 + p3);
      s += ts(M.UW1, w1) + ts(M.UW2, w2) + ts(M.UW3, w3) + ts(M.UW4, w4) + ts(M.UW5, w5) + ts(M.UW6, w6);
      s += ts(M.BW1, w2 + w3) + ts(M.BW2, w3 + w4) + ts(M.BW3, w4 + w5);
      s += ts(M.TW1, w1 + w2 + w3) + ts(M.TW2, w2 + w3 + w4) + ts(M.TW3, w3 + w4 + w5) + ts(M.TW4, w4 + w5 + w6);
      s += ts(M.UC1, c1) + ts(M.UC2, c2) + ts(M.UC3, c3) + ts(M.UC4, c4) + ts(M.UC5, c5) + ts(M.UC6, c6);
      s += ts(M.BC1, c2 + c3) + ts(M.BC2, c3 + c4) + ts(M.BC3, c4 + c5);
      s += ts(M.TC1, c1 + c2 + c3) + ts(M.TC2, c2 + c3 + c4) + ts(M.TC3, c3 + c4 + c5) + ts(M.TC4, c4 + c5 + c6);
      s += ts(M.UQ1, p1 + c1) + ts(M.UQ2, p2 + c2) + ts(M.UQ1, p3 + c3);
      s += ts(M.BQ1, p2 + c2 + c3) + ts(M.BQ2, p2 + c3 + c4) + ts(M.BQ3, p3 + c2 + c3) + ts(M.BQ4, p3 + c3 + c4);
      s += ts(M.TQ1, p2 + c1 + c2 + c3) + ts(M.TQ2, p2 + c2 + c3 + c4) + ts(M.TQ3, p3 + c1 + c2 + c3) + ts(M.TQ4, p3 + c2 + c3 + c4);
      let p = "O";
      if (s > 0) { result.push(word.trim()); word = ""; p = "B"; }
      p1 = p2; p2 = p3; p3 = p;
      word += seg[i];
    }
    result.push(word.trim());
    return result;
  }
  // 索引に入らない語(1 文字の語、文字も数字も含まない記号)は検索語にしない
  return (query) => segment(query).filter((w) => w.length > 1 && /[\p{L}\p{N}]/u.test(w));
})();
"""  # noqa: E501 (JavaScript の式は 1 行のまま埋め込む)


def japanese_splitter_js() -> str:
    """Sphinx の TinySegmenter のモデルを埋め込んだ、
    検索語の分割関数(JavaScript)。
    """
    model = {
        name[:-2]: value
        for name, value in vars(DefaultSplitter).items()
        if re.fullmatch(r"[A-Z]+[0-9]?__", name)
    }
    patterns = [
        [pattern.pattern, value]
        for pattern, value in DefaultSplitter.patterns_.items()
    ]
    return _SPLITTER_JS.replace(
        "__MODEL__", json.dumps(model, ensure_ascii=False)
    ).replace("__PATTERNS__", json.dumps(patterns, ensure_ascii=False))


def split_like_the_browser(text: str) -> list[str]:
    """ブラウザの分割関数が返すはずの語(テストで JavaScript 版と比べる)。"""
    words = [word.strip() for word in DefaultSplitter({}).split(text)]
    return [
        word
        for word in words
        if len(word) > 1 and any(ch.isalpha() or ch.isdigit() for ch in word)
    ]


class JapaneseSearch(SearchJapanese):
    """索引は Sphinx の日本語の検索と同じ。
    ブラウザの検索語も同じ規則で分ける。
    """

    js_splitter_code = japanese_splitter_js()


def _on_build_finished(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        copy_mathjax(Path(app.outdir))


def setup(app) -> dict:
    # add_js_file は _static からの相対パスとして扱うので、一つ上に出る
    app.config.mathjax_path = f"../{MATHJAX_DIR}/{MATHJAX_ENTRY}"
    app.connect("build-finished", _on_build_finished)
    app.connect("html-page-context", _on_html_page_context)
    # html_search_language: ja のときに使われる
    app.add_search_language(JapaneseSearch)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
