"""PDF(LaTeX)版だけの手直し。HTML には何もしない。

1. 前書き:Sphinx の LaTeX 出力では、根のページ(``book/intro``)の見出しは
   本の題名の代わりとして読み捨てられ、本文だけが目次の直後に見出しなしで
   並ぶ。しかもその中の節は ``\\chapter`` になってしまう。ここでは根のページの
   見出しを番号なしの章(``\\chapter*``)として戻し、前書きの中の見出しを
   番号なしで 1 段下げ、最初の章の直前で元に戻す。番号つきの章のあとの文書
   (付録・参考文献・用語集)も番号なしの章にする(「第 11 章 参考文献」に
   しない)。
2. 文字:upLaTeX では記号やギリシャ文字も和文フォント(原ノ味)で組まれる。
   原ノ味(Adobe-Japan1)にない記号(⊙ など)は数式の記号に置き換え、
   本文のギリシャ文字と数式の記号(∂ ≤ × など)は全角の字形ではなく
   数式の字形にする。
   組み合わせ用の記号(C̃ の ̃ など)は LaTeX のアクセントにする。
   置き換えていない文字が原ノ味になければ、dvipdfmx が警告を出し、
   ``scripts/build_pdf.sh`` がそれを見つけてビルドを失敗にする。
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.texescape import escape
from sphinx.writers.latex import LaTeXTranslator

SAVED = r"\medrnnSavedSecnumdepth"
# この列数以上の表は小さい字(\footnotesize)で組む
WIDE_TABLE_COLUMNS = 7
# 根のページの節は LaTeX では \chapter になる。前書きの間だけ 1 段ずつ下げる。
LEVELS = ["chapter", "section", "subsection", "subsubsection"]

# 原ノ味(Adobe-Japan1)に字形がない記号 → LaTeX(コードの中でも使える形)
MISSING_GLYPHS = {
    "⊙": r"\(\odot\)",
    "∘": r"\(\circ\)",
    "∗": r"\(\ast\)",
    "⋅": r"\(\cdot\)",
    "⋯": r"\(\cdots\)",
    "⊤": r"\(\top\)",
    "⟨": r"\(\langle\)",
    "⟩": r"\(\rangle\)",
    "ᵀ": r"\(\sp{\mathrm{T}}\)",
    "ᵗ": r"\(\sp{t}\)",
    "ᵢ": r"\(\sb{i}\)",
    "ⱼ": r"\(\sb{j}\)",
    "ₜ": r"\(\sb{t}\)",
    "ₖ": r"\(\sb{k}\)",
    "ₙ": r"\(\sb{n}\)",
    "✗": r"\(\times\)",
    "⁻": r"\(\sp{-}\)",
    "⌈": r"\(\lceil\)",
    "⌉": r"\(\rceil\)",
    "✅": "成功",  # myst-nb の実行時間の表(状態ページ)
    "❌": "失敗",
}

# 組み合わせ用の記号 → LaTeX のアクセント(直前の ASCII 英字に付ける)
COMBINING_ACCENTS = {
    "\u0300": "`",
    "\u0301": "'",
    "\u0302": "^",
    "\u0303": "~",
    "\u0304": "=",
    "\u0307": ".",
    "\u0308": '"',
}
_COMBINING_RE = re.compile(
    "([A-Za-z])([{}])".format("".join(COMBINING_ACCENTS))
)

# 本文だけ:ギリシャ文字と数式の記号を、全角の和文の字形ではなく数式の字形で
# 組む(μ は単位にも使うので立体の \textmu)。
# コードの中は等幅の和文の字形のまま。
_MATH_NAMES = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "ζ": "zeta",
    "η": "eta",
    "θ": "theta",
    "ι": "iota",
    "κ": "kappa",
    "λ": "lambda",
    "ν": "nu",
    "ξ": "xi",
    "π": "pi",
    "ρ": "rho",
    "σ": "sigma",
    "τ": "tau",
    "υ": "upsilon",
    "φ": "phi",
    "χ": "chi",
    "ψ": "psi",
    "ω": "omega",
    "Γ": "Gamma",
    "Δ": "Delta",
    "Θ": "Theta",
    "Λ": "Lambda",
    "Ξ": "Xi",
    "Π": "Pi",
    "Σ": "Sigma",
    "Φ": "Phi",
    "Ψ": "Psi",
    "Ω": "Omega",
    "∂": "partial",
    "‖": "|",
    "≤": "leq",
    "≥": "geq",
    "≈": "approx",
    "≠": "neq",
    "≡": "equiv",
    "∼": "sim",
    "∑": "sum",
    "∈": "in",
    "∇": "nabla",
    "×": "times",
    "÷": "div",
    "≪": "ll",
    "≫": "gg",
    "∝": "propto",
    "←": "leftarrow",
    "↔": "leftrightarrow",
    "⇒": "Rightarrow",
    "↑": "uparrow",
    "↓": "downarrow",
}
TEXT_SYMBOLS = {ch: rf"\(\{name}\)" for ch, name in _MATH_NAMES.items()}
TEXT_SYMBOLS["−"] = r"\(-\)"
TEXT_SYMBOLS["μ"] = TEXT_SYMBOLS["µ"] = r"\textmu{}"
TEXT_SYMBOLS.update(MISSING_GLYPHS)
# 見出しに入っても PDF のしおりには元の文字が出るように \texorpdfstring で包む
_TEXT_MAP = str.maketrans(
    {
        ch: rf"\texorpdfstring{{{latex}}}{{{ch}}}"
        for ch, latex in TEXT_SYMBOLS.items()
    }
)
# ノーブレークスペース(pybtex が名前と頭文字の間に入れる)は upLaTeX では
# 全角の空白になってしまうので、LaTeX の ~ にする(コードでは普通の空白)。
_TEXT_MAP[0xA0] = "~"
_CODE_MAP = str.maketrans({**MISSING_GLYPHS, "\u00a0": " "})

# 上付き・下付きの数字(²など)。Sphinx も数式に置き換えるが、見出しに入ると
# PDF のしおりで警告が出るので、ここで \texorpdfstring つきにしておく。
_SCRIPT_DIGITS = {
    **{ch: ("sp", str(d)) for d, ch in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")},
    **{ch: ("sb", str(d)) for d, ch in enumerate("₀₁₂₃₄₅₆₇₈₉")},
}
_SCRIPT_RE = re.compile("([{}])".format("".join(_SCRIPT_DIGITS)))


def _script_digit(ch: str) -> str:
    command, digit = _SCRIPT_DIGITS[ch]
    return rf"\texorpdfstring{{\(\{command}{{\text{{{digit}}}}}\)}}{{{ch}}}"


def _accents(latex: str) -> str:
    return _COMBINING_RE.sub(
        lambda m: rf"\{COMBINING_ACCENTS[m.group(2)]}{{{m.group(1)}}}",
        latex,
    )


def fix_text(latex: str) -> str:
    """本文用:エスケープ済みの LaTeX の中の文字を置き換える。"""
    return _accents(latex.translate(_TEXT_MAP))


def fix_code(latex: str) -> str:
    """コード用(Pygments の出力):
    字形のない記号とアクセントだけを置き換える。
    """
    return _accents(latex.translate(_CODE_MAP))


class _FixedHighlighter:
    """PygmentsBridge を包み、highlight_block の結果に fix_code をかける。"""

    def __init__(self, bridge) -> None:
        self._bridge = bridge

    def highlight_block(self, *args, **kwargs) -> str:
        return fix_code(self._bridge.highlight_block(*args, **kwargs))

    def __getattr__(self, name: str):
        return getattr(self._bridge, name)


class MedrnnLaTeXTranslator(LaTeXTranslator):
    """文字の置き換えだけを足した LaTeXTranslator。"""

    def __init__(self, document, builder, theme) -> None:
        super().__init__(document, builder, theme)
        self.highlighter = _FixedHighlighter(self.highlighter)

    _in_uri = False

    def depart_table(self, node: nodes.Element) -> None:
        # 列の多い表(シードごとの表など)は小さい字で組み、列に収める
        cols = max(
            (int(g.get("cols", 0)) for g in node.findall(nodes.tgroup)),
            default=0,
        )
        small = cols >= WIDE_TABLE_COLUMNS
        if small:
            self.body.append("\n\\begingroup\\footnotesize\n")
        super().depart_table(node)
        if small:
            self.body.append("\n\\endgroup\n")

    def escape(self, s: str) -> str:
        if self._in_uri:
            return super().escape(s)
        return "".join(
            _script_digit(part)
            if part in _SCRIPT_DIGITS
            else fix_text(super(MedrnnLaTeXTranslator, self).escape(part))
            for part in _SCRIPT_RE.split(s)
        )

    def encode_uri(self, text: str) -> str:
        # URL の中の文字は置き換えない(リンク先が変わってしまう)
        self._in_uri = True
        try:
            return super().encode_uri(text)
        finally:
            self._in_uri = False


def preface_start(title: str) -> str:
    """番号なしの章を始め、前書きの見出しを番号なしで 1 段下げる LaTeX。

    title は LaTeX 用にエスケープ済みの見出し。
    """
    lines = [
        rf"\chapter*{{{title}}}",
        rf"\addcontentsline{{toc}}{{chapter}}{{{title}}}",
        rf"\markboth{{{title}}}{{{title}}}",
        rf"\edef{SAVED}{{\the\value{{secnumdepth}}}}",
        r"\setcounter{secnumdepth}{-1}",
    ]
    lines += [rf"\let\medrnnSaved{name}\{name}" for name in LEVELS]
    lines += [
        rf"\let\{upper}\medrnnSaved{lower}"
        for upper, lower in zip(LEVELS, LEVELS[1:])
    ]
    return "\n".join(lines)


def preface_end() -> str:
    """preface_start で変えたものを元に戻す LaTeX(最初の章の直前に置く)。"""
    lines = [rf"\setcounter{{secnumdepth}}{{{SAVED}}}"]
    lines += [rf"\let\{name}\medrnnSaved{name}" for name in LEVELS]
    return "\n".join(lines)


# 番号つきの章のあとの付録・参考文献・用語集などは番号なしの章にする
# (「第 11 章 参考文献」にしない)。
# 柱(ヘッダー・フッター)にも「第 N 章」を出さない
# (Sphinx の \chaptermark は番号を無条件に付けるため)。
BACKMATTER = "\n".join(
    [
        r"\setcounter{secnumdepth}{-1}",
        r"\renewcommand{\chaptermark}[1]{\markboth{#1}{#1}}",
    ]
)


def _insert_before(node: nodes.Node, latex: str) -> None:
    parent = node.parent
    parent.insert(parent.index(node), nodes.raw("", latex, format="latex"))


def bibliography_docnames(env) -> set[str]:
    """{bibliography} ディレクティブを持つ文書
    (sphinxcontrib-bibtex の記録から)。
    """
    try:
        domain = env.get_domain("cite")
    except Exception:  # sphinxcontrib-bibtex を使っていない
        return set()
    return {key.docname for key in getattr(domain, "bibliographies", {})}


def move_bibliography(doctree: nodes.document, docnames: set[str]) -> bool:
    """文書の末尾に集められた参考文献の一覧(thebibliography)を、
    {bibliography} を持つ文書(「参考文献」の章)の中へ移す。

    Sphinx の LaTeX 出力は引用の一覧を本の最後(最後の章の後ろ)に
    まとめるので、そのままでは一覧が別の章の中に見出しなしで出る。
    移したら True。
    """
    from sphinx.builders.latex.nodes import thebibliography

    found = [n for n in doctree.children if isinstance(n, thebibliography)]
    target = next(
        (
            start
            for start in doctree.findall(addnodes.start_of_file)
            if start.get("docname") in docnames
        ),
        None,
    )
    if not found or target is None:
        return False
    sections = [n for n in target.children if isinstance(n, nodes.section)]
    parent = sections[-1] if sections else target
    for node in found:
        doctree.remove(node)
        parent.append(node)
    return True


class MoveBibliography(SphinxPostTransform):
    """LaTeX だけ: 参考文献の一覧を「参考文献」の章の中へ移す
    (Sphinx が一覧を本の最後に集めた後、優先度 750 の後に動く)。
    """

    default_priority = 760
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        move_bibliography(self.document, bibliography_docnames(self.env))


def numbered_docnames(env) -> set[str]:
    """目次で番号の付く章(Sphinx の節番号の記録がある文書)。"""
    return {doc for doc, numbers in env.toc_secnumbers.items() if numbers}


def _mark_backmatter(doctree: nodes.document, numbered: set[str]) -> None:
    """番号つきの章のあとに最初に現れる、番号のない文書の直前に
    BACKMATTER を置く。
    """
    seen_numbered = False
    for start in list(doctree.findall(addnodes.start_of_file)):
        if start.get("docname") in numbered:
            seen_numbered = True
        elif seen_numbered:
            _insert_before(start, BACKMATTER)
            return


def _on_doctree_resolved(app, doctree: nodes.document, docname: str) -> None:
    if app.builder.format != "latex" or docname != app.config.root_doc:
        return
    _mark_backmatter(doctree, numbered_docnames(app.env))
    section = next(iter(doctree.findall(nodes.section)), None)
    if (
        section is None
        or not section.children
        or not isinstance(section[0], nodes.title)
    ):
        return
    title = fix_text(escape(section[0].astext(), app.config.latex_engine))
    section.insert(1, nodes.raw("", preface_start(title), format="latex"))
    first_chapter = next(iter(doctree.findall(addnodes.start_of_file)), None)
    if first_chapter is None:
        section.append(nodes.raw("", preface_end(), format="latex"))
    else:
        _insert_before(first_chapter, preface_end())


def title_page(title: str, author: str, release: str, url: str) -> str:
    """PDF の扉(題名・著者・版・ビルド日・ライセンス・リポジトリ)の LaTeX。

    引数はエスケープ前の文字列。
    """

    def tex(text: str) -> str:
        return fix_text(escape(text, "uplatex"))

    lines = [
        r"\begin{titlepage}",
        r"\centering\vspace*{0.22\textheight}",
        rf"{{\Huge\bfseries\gtfamily {tex(title)}\par}}",
        r"\vspace{2\baselineskip}",
        rf"{{\Large {tex(author)}\par}}",
        r"\vfill",
        rf"{{\large {tex(release)}(ビルド日 \today)\par}}",
        r"\vspace{\baselineskip}",
        r"{\small 本文は CC BY 4.0、コードは MIT ライセンス。"
        r"図と数値はすべて、ビルドのたびにコードを実行して作り直したもの。\par}",
    ]
    if url:
        lines.append(rf"{{\small リポジトリ: \url{{{url}}}\par}}")
    lines += [r"\end{titlepage}"]
    return "\n".join(lines)


def _set_title_page(app, config) -> None:
    url = config.html_theme_options.get("repository_url", "")
    config.latex_elements = {
        **config.latex_elements,
        "maketitle": title_page(
            config.html_title or config.project,
            config.author,
            config.release or "",
            url,
        ),
    }


def setup(app) -> dict:
    app.set_translator("latex", MedrnnLaTeXTranslator, override=True)
    app.connect("config-inited", _set_title_page, priority=900)
    app.add_post_transform(MoveBibliography)
    app.connect("doctree-resolved", _on_doctree_resolved)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
