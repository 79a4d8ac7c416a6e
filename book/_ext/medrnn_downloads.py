"""各章の実行済みノートブック(.ipynb)をウェブ版からダウンロードできるように
する Sphinx 拡張。

myst-nb が ``_build/jupyter_execute/`` に書き出すノートブックは、キャッシュから
出力を取った回には出力が空で、``glue(..., display=False)`` の図も
取り除かれている。そこでビルドの終わりに、実行キャッシュ(jupyter-cache)から
出力つきのノートブックを取り出し、読者が Jupyter や Colab でそのまま
読めるように手を入れてから ``_build/html/_sources/<文書名>.ipynb`` に書く
(``_static/`` の外)。

- ``glue`` した図や表は、普通の出力として見えるようにする(数値だけのものは
  本文に埋め込むので出力からは除く)。
- Markdown の ``{glue:text}`key:fmt``` はビルド時の値に、``{glue:figure}`` は
  キャプションの段落に、``{literalinclude}`` (``:pyobject:``) はパッケージの
  コードそのものに置き換える。引用・相互参照など、ほかの MyST の記法は
  そのまま残る。
- 先頭に、このノートブックが何であるかと、手元で動かす方法を書いたセルを足す。

ページ側では、sphinx-book-theme のダウンロードボタン(``.ipynb``)に載せ、さらに
章の題名のすぐ下にダウンロードの案内を差し込む(HTML だけ。PDF には入れない)。
"""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path, PurePosixPath

import nbformat
from docutils import nodes
from sphinx.util import logging
from sphinx.util.osutil import relative_uri

logger = logging.getLogger(__name__)

DOWNLOAD_DIR = "_sources"  # sphinx-book-theme のダウンロードボタンが見る場所
GLUE_PREFIX = "application/papermill.record/"
NOTE_CLASS = "medrnn-notebook-download"
BOOK_TITLE_FALLBACK = "本書"

_GLUE_ROLE_RE = re.compile(r"\{glue(?::text|:md)?\}`([^`]+)`")
_FENCE_RE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}\s*(?P<arg>.*)$"
)


# --- ノートブックの組み立て
# (Sphinx に依らない部分。tests/book/test_site.py でも使う) ---


def notebook_docs(jupyter_execute: Path, docnames) -> list[str]:
    """実行済みノートブックがあり、コードセルを 1 つ以上持つ文書の名前。"""
    found = []
    for docname in sorted(docnames):
        path = jupyter_execute / f"{docname}.ipynb"
        if path.is_file():
            nb = nbformat.read(path, as_version=4)
            if any(cell.cell_type == "code" for cell in nb.cells):
                found.append(docname)
    return found


def glue_values(nb: nbformat.NotebookNode) -> dict[str, dict]:
    """ノートブックの出力から glue したデータを集める
    (キー → MIME バンドル)。
    """
    values = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook")
            if meta is None:
                continue
            prefix = meta.get("mime_prefix", "")
            values[meta["name"]] = {
                key.removeprefix(prefix): value
                for key, value in output["data"].items()
            }
    return values


def format_glue_text(data: dict, fmt_spec: str) -> str:
    """``{glue:text}`` と同じ規則で text/plain を整形する
    (myst-nb の関数を使う)。
    """
    from myst_nb.core.variables import format_plain_text

    return format_plain_text(data["text/plain"], fmt_spec)


def reveal_glue_outputs(cell: nbformat.NotebookNode) -> None:
    """glue した出力のうち図・表などは見える出力に戻し、数値だけのものは除く。

    PNG・SVG と一緒に入っている PDF 版の図(PDF 版の本のためのもの)は除く。
    Jupyter が PNG・SVG ではなく PDF を表示しようとしたり、ファイルが
    倍の大きさになったりしないように。
    """
    kept = []
    for output in cell.get("outputs", []):
        meta = output.get("metadata", {}).get("scrapbook")
        if "data" in output:
            prefix = meta.get("mime_prefix", "") if meta else ""
            output["data"] = {
                key.removeprefix(prefix): value
                for key, value in output["data"].items()
            }
            if {"image/png", "image/svg+xml"} & set(output["data"]):
                output["data"].pop("application/pdf", None)
        if meta is not None:
            if set(output.get("data", {})) <= {"text/plain"}:
                continue  # 数値・文字列は本文に埋め込む
            meta["mime_prefix"] = ""
        kept.append(output)
    cell.outputs = kept


def _substitute_glue_roles(text: str, values: dict[str, dict]) -> str:
    def replace(match: re.Match) -> str:
        key, _, fmt_spec = match.group(1).partition(":")
        data = values.get(key)
        if data is None or "text/plain" not in data or "::" in key:
            return match.group(0)
        if match.group(0).startswith("{glue:md}") and "text/markdown" in data:
            return data["text/markdown"]
        try:
            return format_glue_text(data, fmt_spec or "s")
        except (TypeError, ValueError):
            return match.group(0)

    return _GLUE_ROLE_RE.sub(replace, text)


def python_object_source(path: Path, qualname: str) -> str:
    """``:pyobject:`` と同じ規則(Sphinx の ModuleAnalyzer)で
    オブジェクトのソースを取り出す。
    """
    from sphinx.pycode import ModuleAnalyzer

    analyzer = ModuleAnalyzer.for_file(str(path), "")
    tags = analyzer.find_tags()
    if qualname not in tags:
        raise KeyError(f"{path} に {qualname} がありません")
    _, start, end = tags[qualname]
    lines = path.read_text(encoding="utf-8").splitlines()
    return "\n".join(lines[start - 1 : end - 1]).rstrip()


def _rewrite_directives(text: str, source_dir: Path, repo_root: Path) -> str:
    """``{glue:figure}`` と ``{literalinclude}`` を Jupyter で読める形に
    書き換える。
    """
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _FENCE_RE.match(lines[i])
        if not match or match.group("name") not in (
            "glue:figure",
            "literalinclude",
        ):
            out.append(lines[i])
            i += 1
            continue
        fence, name, arg = (
            match.group("fence"),
            match.group("name"),
            match.group("arg"),
        )
        j = i + 1
        options: dict[str, str] = {}
        while (
            j < len(lines)
            and lines[j].startswith(":")
            and lines[j].strip() != fence
        ):
            key, _, value = lines[j][1:].partition(":")
            options[key.strip()] = value.strip()
            j += 1
        body = []
        while j < len(lines) and lines[j].strip() != fence:
            body.append(lines[j])
            j += 1
        if j >= len(lines):  # 閉じていない:そのまま残す
            out.append(lines[i])
            i += 1
            continue
        if name == "glue:figure":
            caption = "\n".join(line for line in body if line.strip())
            out.append(f"**図**(上のセルの出力){caption}")
        else:
            out.extend(
                _literalinclude(
                    arg, options, source_dir, repo_root, lines[i : j + 1]
                )
            )
        i = j + 1
    return "\n".join(out)


def _literalinclude(
    arg: str,
    options: dict[str, str],
    source_dir: Path,
    repo_root: Path,
    original: list[str],
) -> list[str]:
    path = (source_dir / arg).resolve()
    if set(options) - {"language", "pyobject"} or "pyobject" not in options:
        return original  # 本書では使っていない形:そのまま残す
    code = python_object_source(path, options["pyobject"])
    try:
        shown = path.relative_to(repo_root).as_posix()
    except ValueError:
        shown = path.name
    return [
        f"```{options.get('language', 'python')}",
        f"# {shown} の {options['pyobject']}",
        code,
        "```",
    ]


def _header_cell(title: str, book_title: str) -> nbformat.NotebookNode:
    text = (
        f"> **『{book_title}』「{title}」の実行済みノートブック**\n>\n"
        "> 本のビルドで全セルを実行した結果(出力と図)がついています。"
        "文中の数値はビルド時の実行結果を埋め込んだもので、"
        "パッケージのコードの引用も展開してあります。"
        "引用・相互参照などの MyST の記法(`{cite:p}` など)は"
        "そのまま残っています。\n>\n"
        "> 手元で実行し直すには、リポジトリの README の手順で環境を作り"
        "(`make venv` で `.venv` に `medrnn` パッケージと依存関係が入ります)、"
        "その Python をカーネルにして開いてください。"
    )
    return nbformat.v4.new_markdown_cell(
        text, metadata={"tags": ["medrnn-header"]}
    )


def reader_notebook(
    nb: nbformat.NotebookNode,
    source_dir: Path,
    repo_root: Path,
    title: str,
    book_title: str,
) -> nbformat.NotebookNode:
    """出力つきのノートブックを、読者が Jupyter で読める形に直した
    写しを返す。
    """
    nb = copy.deepcopy(nb)
    values = glue_values(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            reveal_glue_outputs(cell)
        elif cell.cell_type == "markdown":
            text = _substitute_glue_roles(cell.source, values)
            cell.source = _rewrite_directives(text, source_dir, repo_root)
    nb.metadata.pop("source_map", None)  # myst-nb の内部情報
    nb.cells.insert(0, _header_cell(title, book_title))
    nbformat.validate(nb)
    return nb


def executed_notebook(
    path: Path, cache_path: str | None, mode: str
) -> nbformat.NotebookNode:
    """myst-nb が書いたノートブックに、実行キャッシュの出力を戻したもの。"""
    nb = nbformat.read(path, as_version=4)
    if mode == "cache" and cache_path:
        from jupyter_cache import get_cache

        _, nb = get_cache(cache_path).merge_match_into_notebook(nb)
    return nb


# --- Sphinx との接続 ---------------------------------------------------------


def _jupyter_execute(app) -> Path:
    return Path(app.outdir).parent / "jupyter_execute"


def _download_uri(docname: str) -> str:
    return f"{DOWNLOAD_DIR}/{docname}.ipynb"


def _is_html(app) -> bool:
    return getattr(app.builder, "format", "") == "html"


def _on_env_updated(app, env) -> None:
    if _is_html(app):
        app.medrnn_notebook_docs = set(
            notebook_docs(_jupyter_execute(app), env.found_docs)
        )


def _notebook_docs(app) -> set[str]:
    if not hasattr(app, "medrnn_notebook_docs"):
        app.medrnn_notebook_docs = set(
            notebook_docs(_jupyter_execute(app), app.env.found_docs)
        )
    return app.medrnn_notebook_docs


def download_note_html(uri: str, filename: str) -> str:
    """章の題名の下に置く、ダウンロードの案内(HTML)。"""
    uri, filename = html.escape(uri, quote=True), html.escape(filename)
    return (
        f'<div class="admonition tip {NOTE_CLASS}">\n'
        '<p class="admonition-title">Jupyter で動かす</p>\n'
        "<p>実行結果つきのノートブック "
        f'<a class="reference download" href="{uri}" '
        f'download="{filename}">{filename}</a> をダウンロードできます'
        "(ページ上部のダウンロードボタンの「.ipynb」からも)。"
        "環境の用意のしかたはリポジトリの README にあります。</p>\n</div>\n"
    )


def _on_doctree_resolved(app, doctree, docname) -> None:
    """章の題名のすぐ下に、ノートブックのダウンロードの案内を差し込む
    (HTML だけ)。
    """
    if not _is_html(app) or docname not in _notebook_docs(app):
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if (
        section is None
        or not section.children
        or not isinstance(section[0], nodes.title)
    ):
        return
    uri = relative_uri(
        app.builder.get_target_uri(docname), _download_uri(docname)
    )
    filename = PurePosixPath(docname).name + ".ipynb"
    section.insert(
        1, nodes.raw("", download_note_html(uri, filename), format="html")
    )


def _on_html_page_context(
    app, pagename, templatename, context, doctree
) -> None:
    """sphinx-book-theme のダウンロードボタンに .ipynb を載せる
    (テーマの処理より先に動く)。
    """
    if pagename in _notebook_docs(app):
        context["ipynb_source"] = f"{pagename}.ipynb"


def _on_build_finished(app, exception) -> None:
    if exception is not None or not _is_html(app):
        return
    config = app.env.mystnb_config
    repo_root = Path(app.srcdir)
    book_title = app.config.html_title or BOOK_TITLE_FALLBACK
    for docname in sorted(_notebook_docs(app)):
        source = _jupyter_execute(app) / f"{docname}.ipynb"
        try:
            nb = executed_notebook(
                source, config.execution_cache_path, config.execution_mode
            )
        except KeyError:
            logger.warning(
                f"{docname}: "
                "実行キャッシュに出力つきのノートブックがありません",
                type="medrnn",
                subtype="downloads",
            )
            continue
        title = (
            app.env.titles[docname].astext()
            if docname in app.env.titles
            else docname
        )
        doc_dir = Path(app.env.doc2path(docname)).parent
        reader_nb = reader_notebook(nb, doc_dir, repo_root, title, book_title)
        target = Path(app.outdir) / _download_uri(docname)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(reader_nb, target)


def setup(app) -> dict:
    app.connect("env-updated", _on_env_updated)
    app.connect("doctree-resolved", _on_doctree_resolved)
    # sphinx-book-theme の add_header_buttons(priority 501)より先に
    app.connect("html-page-context", _on_html_page_context, priority=400)
    app.connect("build-finished", _on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
