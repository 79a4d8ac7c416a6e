"""各章の実行時間を ``_build/exec_times.json`` に書き出す Sphinx 拡張。

CI はこのファイルを ``scripts/check_exec_budget.py`` で上限と比べる。
"""

from __future__ import annotations

import json
from pathlib import Path

REPORT_NAME = "exec_times.json"


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
    return {"parallel_read_safe": True, "parallel_write_safe": True}
