"""本文の書き方の約束を、全章について確かめる。

- ``glue`` に値を渡すだけのセル(読者に見せる出力がない配管)は
  ``remove-cell`` にして隠す。図を作るセルは、図のための準備の計算が
  あれば見せてよい(``glue`` の呼び出しだけのセルは隠す)。
- 練習問題は 1 つの書き方: ``**問題 N(題)**`` の問題文のすぐ後に
  ``問題 N の解答`` の折りたたみ(dropdown)。答えのコードは折りたたみの中の
  ``exercise_N`` の引用で見せ、計算するセルは隠す。
- 紙に印刷される「クリックで開きます」は書かない。
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
sys.path.insert(0, str(ROOT / "scripts"))
from execute_chapters import read_notebook  # noqa: E402

GLUE_FUNCTIONS = {"glue", "glue_comparison"}
PROBLEM = re.compile(r"^\*\*問題 (\d+)[\uff08(]", re.MULTILINE)
DROPDOWN = re.compile(
    r"^(:{3,})\{dropdown\} 問題 (\d+) の解答\s*$", re.MULTILINE
)
EXERCISE_LISTING = re.compile(r":pyobject:\s*exercise_(\d+)\b")


def notebooks() -> list[Path]:
    """本文の章(kernelspec を持つ MyST Markdown)。"""
    return [
        p
        for p in sorted(BOOK.glob("*.md"))
        if "kernelspec:" in p.read_text(encoding="utf-8")
    ]


def _is_glue_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in GLUE_FUNCTIONS
    )


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _calls_plot(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else None
            name = func.id if isinstance(func, ast.Name) else name
            if name is not None and name.startswith("plot_"):
                return True
    return False


def is_plumbing(source: str, used_later: set[str]) -> bool:
    """glue に値を渡すだけのセルか。

    文がすべて、glue の呼び出し・import・それだけを繰り返す for 文・
    後のセルで使わない名前への代入(glue に渡す値の計算)のどれかで、
    glue を 1 回以上呼ぶもの。ただし、glue 以外の文を含み、図を描く
    plot_* を呼ぶセル(図の作り方を見せるセル)は除く。
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:  # %magic などを含むセル
        return False
    if not any(_is_glue_call(n) for n in ast.walk(tree)):
        return False

    def feeds_glue(stmt: ast.stmt) -> bool:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            return True
        if isinstance(stmt, ast.Expr):
            return _is_glue_call(stmt.value)
        if isinstance(stmt, ast.For):
            return all(feeds_glue(s) for s in stmt.body + stmt.orelse)
        if isinstance(stmt, ast.Assign):
            targets = set().union(*(_names(t) for t in stmt.targets))
            return not targets & used_later
        if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
            return not _names(stmt.target) & used_later
        return False

    only_glue = all(
        isinstance(s, (ast.Import, ast.ImportFrom))
        or (isinstance(s, ast.Expr) and _is_glue_call(s.value))
        for s in tree.body
    )
    if not only_glue and _calls_plot(tree):
        return False
    return all(feeds_glue(s) for s in tree.body)


def visible_plumbing(path: Path) -> list[str]:
    """隠していない配管のセル(先頭の行)の一覧。"""
    cells = [c for c in read_notebook(path).cells if c.cell_type == "code"]
    names = []
    for cell in cells:
        try:
            names.append(_names(ast.parse(cell.source)))
        except SyntaxError:
            names.append(set())
    found = []
    for i, cell in enumerate(cells):
        used_later = set().union(set(), *names[i + 1 :])
        tags = cell.metadata.get("tags", [])
        if "remove-cell" not in tags and is_plumbing(cell.source, used_later):
            found.append(cell.source.splitlines()[0])
    return found


def exercise_problems(text: str) -> list[str]:
    """``## 練習問題`` の節の書き方の誤り(なければ空)。"""
    head = re.search(r"^## 練習問題", text, re.MULTILINE)
    if head is None:
        return []
    end = text.find("\n## ", head.end())
    section = text[head.start() : end if end > 0 else len(text)]
    errors = []
    numbers = [int(n) for n in PROBLEM.findall(section)]
    if numbers != list(range(1, len(numbers) + 1)):
        errors.append(f"問題の番号が 1 から順でない: {numbers}")
    answers = [int(m.group(2)) for m in DROPDOWN.finditer(section)]
    if answers != numbers:
        errors.append(f"問題 {numbers} に対して解答の折りたたみ {answers}")
    for m in DROPDOWN.finditer(section):
        close = re.compile(rf"^{m.group(1)}\s*$", re.MULTILINE)
        end_m = close.search(section, m.end())
        if end_m is None:
            errors.append(
                f"問題 {m.group(2)} の解答の折りたたみが閉じていない"
            )
            continue
        body = section[m.end() : end_m.start()]
        for n in EXERCISE_LISTING.findall(body):
            if n != m.group(2):
                errors.append(f"問題 {m.group(2)} の解答に exercise_{n}")
    if "{admonition}" in section or ":class: dropdown" in section:
        errors.append("解答は {dropdown} で書く(admonition は使わない)")
    if re.search(r"^:tags: \[hide-cell\]", section, re.MULTILINE):
        errors.append("解答のコードは見せるセルではなく exercise_N の引用で")
    return errors


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.stem)
def test_plumbing_cells_are_removed(path):
    assert not visible_plumbing(path), (
        f"glue だけのセルに :tags: [remove-cell] を: {visible_plumbing(path)}"
    )


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.stem)
def test_exercises_follow_one_style(path):
    assert not exercise_problems(path.read_text(encoding="utf-8"))


def test_no_click_to_open_in_the_book():
    """「クリックで開きます」は紙の本では意味をなさない。"""
    hits = [
        p.name
        for p in sorted(BOOK.rglob("*.md"))
        if "クリックで開きます" in p.read_text(encoding="utf-8")
    ]
    assert not hits


def test_plumbing_detection():
    assert is_plumbing('glue("a", 1, display=False)', set())
    assert is_plumbing("v = f(x)\nglue('a', v)", set())
    assert not is_plumbing("v = f(x)\nglue('a', v)", {"v"})  # v を後で使う
    assert not is_plumbing("glue('a', 1)\nprint(2)", set())  # 出力がある
    assert not is_plumbing("m = 1\nplot_x(m)\nglue('f', plot_x(m))", set())
    assert is_plumbing("glue('f', plot_x())", set())  # 図の glue だけ
    assert not is_plumbing("x = 1", set())  # glue しない


def test_exercise_style_detection():
    good = (
        "## 練習問題\n\n**問題 1(題)** 文\n\n"
        "::::{dropdown} 問題 1 の解答\n答え\n"
        "```{literalinclude} ../code/m.py\n:pyobject: exercise_1\n```\n"
        "::::\n\n## 次\n"
    )
    assert exercise_problems(good) == []
    assert exercise_problems(good.replace("問題 1 の解答", "解答"))
    assert exercise_problems(good.replace("exercise_1", "exercise_2"))
    old = good.replace("::::{dropdown} 問題 1 の解答", ":::{admonition} 解答")
    assert exercise_problems(old)
