"""各章の実行時間を ``_build/exec_times.json`` に書き出す Sphinx 拡張。

CI はこのファイルを ``scripts/check_exec_budget.py`` で上限と比べる。
"""

from __future__ import annotations

import json
from pathlib import Path

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

REPORT_NAME = "exec_times.json"
# myst-nb の実行時間の表は状態を絵文字で書く。絵文字のフォントがない環境
# (多くの Linux や病院の端末)では豆腐(□)になるので、日本語の言葉に
# 置き換える
STATUS_WORDS = {"\u2705": "成功", "\u274c": "失敗"}
# 表の見出しと「方法」の値も日本語に(表の中の文字だけを置き換える)
TABLE_WORDS = {
    **STATUS_WORDS,
    "Document": "文書",
    "Modified": "更新日時",
    "Method": "方法",
    "Run Time (s)": "実行時間 [s]",
    "Status": "状態",
    "cache": "キャッシュ",
    "auto": "実行",
}


class StatusWords(SphinxPostTransform):
    """実行時間の表(myst-nb が優先度 8 で作る)の英語の見出しと絵文字の
    状態を、日本語の言葉に置き換える。
    """

    default_priority = 20

    def run(self, **kwargs) -> None:
        for table in list(self.document.findall(nodes.table)):
            self._translate(table)

    def _translate(self, table: nodes.table) -> None:
        for text in list(table.findall(nodes.Text)):
            if str(text) in TABLE_WORDS:
                new = nodes.Text(TABLE_WORDS[str(text)])
                index = next(
                    i for i, c in enumerate(text.parent.children) if c is text
                )
                text.parent.children[index] = new
                new.parent = text.parent


def collect_runtimes(doc_data: dict) -> dict[str, float]:
    """myst-nb が記録した文書ごとの実行データから、実行秒数だけを取り出す。"""
    times = {}
    for docname, data in sorted(doc_data.items()):
        exec_data = data.get("exec_data") or {}
        if exec_data.get("runtime") is not None:
            times[docname] = round(float(exec_data["runtime"]), 3)
    return times


def _on_build_finished(app, exception) -> None:
    if exception is not None:
        return
    from myst_nb.sphinx_ import NbMetadataCollector

    times = collect_runtimes(NbMetadataCollector.get_doc_data(app.env))
    report = Path(app.outdir).parent / REPORT_NAME
    report.write_text(json.dumps(times, ensure_ascii=False, indent=2) + "\n")


def setup(app) -> dict:
    app.connect("build-finished", _on_build_finished)
    app.add_post_transform(StatusWords)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
