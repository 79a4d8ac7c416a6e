from pathlib import Path

from helpers import load_extension, load_module, toc_files

ROOT = Path(__file__).resolve().parents[2]


budget = load_module(
    "check_exec_budget", ROOT / "scripts" / "check_exec_budget.py"
)
report = load_extension("medrnn_exec_report")


def test_collect_runtimes_keeps_executed_documents_only():
    data = {
        "book/rnn": {"exec_data": {"runtime": 12.3456, "method": "cache"}},
        "book/bibliography": {},
        "book/intro": {"exec_data": {"runtime": None}},
    }
    assert report.collect_runtimes(data) == {"book/rnn": 12.346}


def test_budget_passes_within_factor_and_fails_beyond():
    from medrnn.core.notebook import ExecBudget

    plan = ExecBudget(3.0, {"book/rnn": 10.0})
    assert budget.check({"book/rnn": 29.0}, plan) == []
    assert "上限 30.0 秒" in budget.check({"book/rnn": 31.0}, plan)[0]
    assert "未登録" in budget.check({"book/new": 1.0}, plan)[0]


def test_budget_and_toc_list_the_same_executed_chapters():
    from medrnn.core.notebook import ExecBudget

    plan = ExecBudget.read(ROOT / "book" / "exec_budget.json")
    executed = {
        f
        for f in toc_files()
        if "{code-cell}" in (ROOT / f"{f}.md").read_text(encoding="utf-8")
    }
    assert executed == set(plan.seconds)


def test_status_emoji_become_words():
    from docutils import nodes
    from docutils.frontend import get_default_settings
    from docutils.utils import new_document

    doc = new_document("<test>", get_default_settings())
    row = nodes.paragraph(
        "",
        "",
        nodes.Text("\u2705"),
        nodes.Text("\u274c"),
        nodes.Text("ok"),
        nodes.Text("Run Time (s)"),
    )
    outside = nodes.paragraph("", "", nodes.Text("Status"))
    doc += nodes.table("", row)
    doc += outside
    report.StatusWords(doc).run()
    assert [str(t) for t in row.children] == [
        "成功",
        "失敗",
        "ok",
        "実行時間 [s]",
    ]
    assert all(t.parent is row for t in row.children)
    assert str(outside.children[0]) == "Status"  # 表の外は変えない
