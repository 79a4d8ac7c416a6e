"""参考文献の一覧のラベルを、本文の引用と同じ「著者, 年」にする Sphinx 拡張。

本文の引用は sphinxcontrib-bibtex の author_year(「Kingma and Ba, 2015」)
だが、pybtex の plain の一覧は番号([1], [2], …)で、本文と一覧が
対応しない。ここでは plain の書式のまま、ラベルだけを「著者, 年」にした
書式 ``medrnn`` を pybtex に登録する(``bibtex_default_style: medrnn``)。
"""

from __future__ import annotations

from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle


def _last_name(person) -> str:
    """姓(BibTeX の {} と \\ の記号は取り除く)。"""
    name = " ".join(person.prelast_names + person.last_names)
    return name.replace("{", "").replace("}", "").replace("\\", "")


def author_year_label(entry) -> str:
    """「Kingma and Ba, 2015」「Cho et al., 2014」の形のラベル。"""
    persons = entry.persons.get("author") or entry.persons.get("editor")
    if not persons:
        who = entry.fields.get("organization") or entry.fields.get(
            "key", entry.key
        )
        who = who.replace("{", "").replace("}", "")
    elif len(persons) == 1:
        who = _last_name(persons[0])
    elif len(persons) == 2:
        who = f"{_last_name(persons[0])} and {_last_name(persons[1])}"
    else:
        who = f"{_last_name(persons[0])} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """著者と年のラベル。同じラベルが 2 つ以上あれば年に a, b, … を付ける。"""

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year_label(entry) for entry in entries]
        counts, seen = Counter(labels), Counter()
        for label in labels:
            if counts[label] > 1:
                seen[label] += 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            else:
                yield label


class MedrnnStyle(PlainStyle):
    """pybtex の plain と同じ書式で、ラベルだけ「著者, 年」。"""

    default_label_style = "medrnn_author_year"


register_plugin(
    "pybtex.style.labels", "medrnn_author_year", AuthorYearLabelStyle
)
register_plugin("pybtex.style.formatting", "medrnn", MedrnnStyle)


def setup(app) -> dict:
    return {"parallel_read_safe": True, "parallel_write_safe": True}
