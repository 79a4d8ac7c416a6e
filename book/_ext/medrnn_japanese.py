"""日本語の文の途中の改行を取り除く Sphinx 拡張。

Markdown のソースで日本語の文を途中で改行すると、HTML ではそこに半角の空白が
入って見える(「変わります。 この章では」)。日本語の文字どうしの間にある改行を
本文のテキストから取り除く。コードや数式の中は変えない。
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.transforms import SphinxTransform

# ひらがな・カタカナ・漢字・全角の記号と句読点
_CJK = r"\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
_BREAK = re.compile(rf"(?<=[{_CJK}])\n(?=[{_CJK}])")
_SKIP = (
    nodes.literal_block,
    nodes.literal,
    nodes.math,
    nodes.math_block,
    nodes.raw,
)


def join_japanese_lines(text: str) -> str:
    """日本語の文字にはさまれた改行を消す(それ以外の改行はそのまま)。"""
    return _BREAK.sub("", text)


def _neighbour_text(parent: nodes.Element, index: int, step: int) -> str:
    """index から step の向きに、空でない最初の兄弟ノードのテキスト。"""
    index += step
    while 0 <= index < len(parent):
        text = parent[index].astext()
        if text:
            return text
        index += step
    return ""


def is_cjk_softbreak(parent: nodes.Element, index: int) -> bool:
    """parent[index] が、両隣が日本語の文字である改行だけのテキストか。

    MyST は段落の中の改行(ソフト改行)を "\n" だけのテキストノードにする。
    """
    if str(parent[index]) != "\n":
        return False
    before = _neighbour_text(parent, index, -1)[-1:]
    after = _neighbour_text(parent, index, +1)[:1]
    return bool(
        before
        and after
        and re.match(f"[{_CJK}]", before)
        and re.match(f"[{_CJK}]", after)
    )


class JoinJapaneseLines(SphinxTransform):
    """本文のテキストノードから、日本語の文字どうしの間の改行を取り除く。"""

    default_priority = 500

    def apply(self, **kwargs) -> None:
        for text in list(self.document.findall(nodes.Text)):
            parent = text.parent
            if isinstance(parent, _SKIP) or "\n" not in text:
                continue
            # Text は文字列として比較されるので、parent.index() は同じ文字列の
            # 別のノード(段落の前のほうの "\n")を返しうる。同一性で位置を探す。
            index = next(
                i for i, child in enumerate(parent.children) if child is text
            )
            if is_cjk_softbreak(parent, index):
                _replace_at(parent, index, "")
                continue
            joined = join_japanese_lines(str(text))
            if joined != str(text):
                _replace_at(parent, index, joined)


def _replace_at(parent: nodes.Element, index: int, text: str) -> None:
    """parent の index 番目の子を、新しいテキストノードに置き換える。"""
    new = nodes.Text(text)
    new.parent = parent
    parent.children[index] = new


def setup(app) -> dict:
    app.add_transform(JoinJapaneseLines)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
