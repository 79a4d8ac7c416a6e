"""パッケージの依存の向きの検査: 核 ← 領域 ← 章 ← コマンドライン。

核(どの章も使う部分)は領域(信号ごとのコード)も章も知らない。領域は章を
知らない。章はコマンドラインを知らない。逆向きの import を 1 つでも足すと
このテストが失敗する(関数の中の import も数える)。
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "code" / "medrnn"

# 核(core/): データと窓・分割・モデル・学習・評価と比較・図の道具・再現性
CORE = {"core"}
# 領域: 信号ごとの下位パッケージと、第 1〜3 章の理論(theory)
DOMAIN = {
    "ecg",
    "cgm",
    "glucose_sim",
    "vitals",
    "theory",
    "datasets",
    "attention",
    "trust",
    "privacy",
}
LAYER = {
    **{m: 0 for m in CORE},
    **{m: 1 for m in DOMAIN},
    "chapters": 2,
    "__main__": 3,
    "__init__": 0,
}
NAMES = {0: "核", 1: "領域", 2: "章", 3: "コマンドライン"}


def top_module(path: Path) -> str:
    """パッケージの中のファイルの最上位の名前(core/compare.py → core)。"""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imported_modules(source: str, rel: Path) -> set[str]:
    """ソース(パッケージの中の相対パス rel)が import する
    最上位のモジュール名。
    """
    depth = len(rel.parts) - 1
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if (
                node.level == 0
                and node.module
                and node.module.startswith("medrnn.")
            ):
                found.add(node.module.split(".")[1])
            elif node.level > 0:
                if node.level - 1 < depth:  # 同じ下位パッケージの中
                    found.add(rel.parts[0])
                elif node.module:
                    found.add(node.module.split(".")[0])
                else:
                    found.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(
                a.name.split(".")[1]
                for a in node.names
                if a.name.startswith("medrnn.")
            )
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer():
    unknown = {top_module(p) for p in SOURCES} - set(LAYER)
    assert not unknown, f"層が決まっていないモジュール: {sorted(unknown)}"


@pytest.mark.parametrize(
    "path", SOURCES, ids=lambda p: p.relative_to(PACKAGE).as_posix()
)
def test_imports_point_down(path):
    here = LAYER[top_module(path)]
    rel = path.relative_to(PACKAGE)
    upward = sorted(
        m
        for m in imported_modules(path.read_text(encoding="utf-8"), rel)
        if m in LAYER and LAYER[m] > here
    )
    assert not upward, (
        f"{path.relative_to(PACKAGE)}({NAMES[here]})が上の層を"
        f" import しています: {upward}"
    )


def test_the_checker_sees_an_upward_import():
    # 検査そのものの確認: 核のファイルに章の import を足せば見つかる
    rel = Path("core/compare.py")
    source = (PACKAGE / rel).read_text(encoding="utf-8")
    assert "chapters" not in imported_modules(source, rel)
    for extra in (
        "from ..chapters import vitals",
        "from medrnn.chapters.vitals import report",
        "import medrnn.chapters.cgm",
    ):
        assert "chapters" in imported_modules(source + "\n" + extra, rel)
    assert "vitals_tasks" in imported_modules(
        "from .vitals_tasks import x", Path("training.py")
    )


def test_the_top_level_shows_the_architecture():
    # パッケージの直下は 核・領域・章・入口だけ
    # (新しいモジュールは層を決めて置く)
    top = {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if p.suffix == ".py" or (p.is_dir() and p.name != "__pycache__")
    }
    assert top == CORE | DOMAIN | {"chapters", "__main__", "__init__"}
