"""公開している関数・メソッドに NumPy 形式の docstring があるか。

``ast`` でモジュールを読み(import はしない)、次を確かめる。

- 公開しているクラス・関数・メソッドには docstring がある。
- self/cls 以外の引数を取るものは ``Parameters`` の節を持ち、
  どの引数の名前もその節に出てくる(``__init__`` の引数はクラスの
  docstring に書いてもよい)。
- 戻り値の注釈が None でないものは ``Returns`` の節を持つ。

プロパティは属性と同じく 1 行の説明でよいので、節は求めない。
本文が literalinclude で見せるオブジェクトのうち、1 ページ(25 行)に
節が収まらないものだけを ``COMPACT`` に挙げて、その節を免除する。
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "code" / "medrnn"
sys.path.insert(0, str(ROOT / "scripts"))
import listing_sizes  # noqa: E402

# 確かめるモジュール(PACKAGE からの相対パス)
MODULE_PATTERNS = (
    "*.py",  # 入口(__init__・__main__)
    "core/*.py",
    "core/models/*.py",
    "*/*.py",  # 領域と章のモジュール
)

PARAMS, RETURNS = "Parameters", "Returns"

# 免除のリスト: (モジュール, オブジェクト) → 免除する節。
# どれも本文が literalinclude で見せるオブジェクトで、すでに 22〜25 行
# あり、節を足すと tests/book/test_listings.py の 25 行を超える。形状は
# 1 行の説明や引数の説明の中に書いてある。行に余裕ができたら外すこと
# (外せるのに残っていると test_compact_entries_are_still_needed が失敗する)。
COMPACT: dict[tuple[str, str], frozenset[str]] = {
    ("core/evaluation.py", "LinearAR.fit"): frozenset({PARAMS, RETURNS}),
    # 学習ループ(RNN の章で 1 つずつ見せる。どれも 21〜25 行)
    ("core/training.py", "train_step"): frozenset({PARAMS, RETURNS}),
    ("core/training.py", "run_epoch"): frozenset({PARAMS, RETURNS}),
    ("core/training.py", "fit"): frozenset({RETURNS}),
    ("core/training.py", "fit_early_stopping"): frozenset({PARAMS, RETURNS}),
    ("core/training.py", "fit_with_dataloader"): frozenset({PARAMS, RETURNS}),
    # クラス全体を見せている(19 行)
    ("core/training.py", "EarlyStopping.__init__"): frozenset({PARAMS}),
    ("core/training.py", "EarlyStopping.should_stop"): frozenset(
        {PARAMS, RETURNS}
    ),
    # クラス全体を見せている(__init__ の引数は config だけ)
    ("core/models/nets.py", "RecurrentRegressor.__init__"): frozenset(
        {PARAMS}
    ),
    ("core/models/nets.py", "RecurrentRegressor.forward"): frozenset(
        {PARAMS, RETURNS}
    ),
    ("core/models/scratch.py", "LSTMCellScratch.gates"): frozenset(
        {PARAMS, RETURNS}
    ),
    ("core/models/scratch.py", "ScratchRecurrent.forward"): frozenset(
        {PARAMS, RETURNS}
    ),
    ("cgm/data.py", "read_cgm_csv"): frozenset({PARAMS, RETURNS}),
    ("cgm/tasks.py", "split_patients"): frozenset({PARAMS, RETURNS}),
    ("cgm/tasks.py", "subject_windows"): frozenset({PARAMS, RETURNS}),
    ("cgm/tasks.py", "trend_extrapolation"): frozenset({PARAMS}),
    ("cgm/tasks.py", "train_cgm_forecaster"): frozenset({PARAMS, RETURNS}),
    ("cgm/tasks.py", "hypo_alerts"): frozenset({PARAMS, RETURNS}),
    ("cgm/tasks.py", "clarke_zones"): frozenset({PARAMS, RETURNS}),
    ("ecg/record.py", "bandpass"): frozenset({PARAMS, RETURNS}),
    ("ecg/record.py", "rr_context"): frozenset({PARAMS}),
    ("ecg/record.py", "shape_correlation"): frozenset({PARAMS, RETURNS}),
    ("ecg/record.py", "label_beats"): frozenset({PARAMS, RETURNS}),
    ("glucose_sim/model.py", "basal_bolus"): frozenset({PARAMS, RETURNS}),
    ("glucose_sim/tasks.py", "prepare_sim_forecast"): frozenset(
        {PARAMS, RETURNS}
    ),
    ("glucose_sim/tasks.py", "recurrent_features"): frozenset(
        {PARAMS, RETURNS}
    ),
    ("vitals/data.py", "beat_heart_rate"): frozenset({PARAMS}),
    ("vitals/missing.py", "block_mask"): frozenset({PARAMS, RETURNS}),
    ("vitals/missing.py", "interpolate_causal"): frozenset({PARAMS, RETURNS}),
    ("vitals/missing.py", "mask_delta_features"): frozenset({PARAMS, RETURNS}),
    ("vitals/missing.py", "spot_check_mask"): frozenset({PARAMS, RETURNS}),
    ("vitals/tasks.py", "prepare_windows"): frozenset({PARAMS, RETURNS}),
    ("theory/bptt.py", "hidden_state_grads"): frozenset({RETURNS}),
    ("theory/gradients.py", "sgd_update_norms"): frozenset({PARAMS, RETURNS}),
    ("theory/lstm_shapes.py", "expected_parameter_count"): frozenset(
        {PARAMS, RETURNS}
    ),
    ("theory/lstm_shapes.py", "last_step_gaps"): frozenset({PARAMS, RETURNS}),
    ("theory/experiments.py", "train_recipe"): frozenset({PARAMS, RETURNS}),
    ("theory/experiments.py", "validation_study"): frozenset(
        {PARAMS, RETURNS}
    ),
    # 以下は、すべてのモジュールを確かめるようにしたときに足したもの
    ("core/models/attention.py", "MultiHeadAttentionScratch.forward"): (
        frozenset({PARAMS})
    ),
    ("attention/tasks.py", "farthest_weights"): frozenset({RETURNS}),
    ("privacy/dp.py", "privatize_gradients"): frozenset({RETURNS}),
    ("privacy/dp.py", "make_private"): frozenset({RETURNS}),
    ("chapters/privacy.py", "exercise_1"): frozenset({RETURNS}),
    ("ecg/tasks.py", "prepare_waveform"): frozenset({RETURNS}),
    ("ecg/tasks.py", "train_waveform_forecaster"): frozenset(
        {PARAMS, RETURNS}
    ),
    ("ecg/tasks.py", "assign_beats"): frozenset({PARAMS}),
    ("ecg/tasks.py", "rr_inputs"): frozenset({RETURNS}),
    ("ecg/tasks.py", "binary_metrics"): frozenset({RETURNS}),
    ("ecg/tasks.py", "train_beat_classifier"): frozenset({PARAMS, RETURNS}),
    ("trust/conformal.py", "ensemble_interval"): frozenset({PARAMS}),
    ("trust/conformal.py", "miss_vs_nominal"): frozenset({PARAMS}),
    ("trust/explain.py", "cascading_randomization"): frozenset({PARAMS}),
    ("trust/subgroups.py", "compare_in_subgroups"): frozenset(
        {PARAMS, RETURNS}
    ),
    ("chapters/trust.py", "cgm_attributions"): frozenset({RETURNS}),
    ("chapters/trust.py", "exercise_2"): frozenset({PARAMS, RETURNS}),
    ("theory/primer.py", "make_vital_windows"): frozenset({PARAMS}),
    ("chapters/lstm.py", "seed_results"): frozenset({PARAMS, RETURNS}),
    ("chapters/lstm.py", "exercise_2"): frozenset({PARAMS, RETURNS}),
}

SECTION_HEADERS = ("Parameters", "Returns", "Yields", "Raises", "Notes")
FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def module_paths() -> list[Path]:
    """確かめるモジュールのファイル(重複なし、名前の順)。"""
    found = {p for pattern in MODULE_PATTERNS for p in PACKAGE.glob(pattern)}
    return sorted(found)


def has_section(doc: str, name: str) -> bool:
    """docstring に NumPy 形式の節(見出しと ---- の下線)があるか。"""
    return re.search(rf"^\s*{name}\s*\n\s*-{{3,}}\s*$", doc, re.M) is not None


def section_text(doc: str, name: str) -> str:
    """節 name の中身(次の節の見出しの手前まで)。"""
    heading = rf"^\s*{name}\s*\n\s*-{{3,}}\s*$"
    after = re.split(heading, doc, maxsplit=1, flags=re.M)
    if len(after) < 2:
        return ""
    others = "|".join(h for h in SECTION_HEADERS if h != name)
    next_heading = rf"^\s*(?:{others})\s*\n\s*-{{3,}}"
    return re.split(next_heading, after[1], flags=re.M)[0]


def parameter_names(fn: FunctionNode) -> list[str]:
    """self/cls を除いた引数の名前(*args・**kwargs は星を外す)。"""
    a = fn.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
    names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
    return [n for n in names if n not in ("self", "cls")]


def returns_value(fn: FunctionNode) -> bool:
    """戻り値の注釈があり、None でないか。"""
    r = fn.returns
    return r is not None and not (
        isinstance(r, ast.Constant) and r.value is None
    )


def is_property(fn: FunctionNode) -> bool:
    """@property(と @x.setter)で飾られているか。"""
    for d in fn.decorator_list:
        if isinstance(d, ast.Name) and d.id in ("property", "cached_property"):
            return True
        if isinstance(d, ast.Attribute) and d.attr in ("setter", "getter"):
            return True
    return False


def public_objects(
    tree: ast.Module,
) -> list[tuple[str, ast.AST, ast.ClassDef | None]]:
    """(名前, ノード, 属するクラス) の並び。_ で始まるものは除く。"""
    out: list[tuple[str, ast.AST, ast.ClassDef | None]] = []
    for node in tree.body:
        if isinstance(node, FunctionNode) and not node.name.startswith("_"):
            out.append((node.name, node, None))
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            out.append((node.name, node, None))
            for m in node.body:
                if isinstance(m, FunctionNode) and (
                    m.name == "__init__" or not m.name.startswith("_")
                ):
                    out.append((f"{node.name}.{m.name}", m, node))
    return out


def problems(
    source: str, exempt: dict[str, frozenset[str]] | None = None
) -> list[str]:
    """1 つのモジュールのソースで、決まりに合わないものの説明の並び。"""
    exempt = exempt or {}
    found = []
    for name, node, owner in public_objects(ast.parse(source)):
        doc = ast.get_docstring(node) or ""  # type: ignore[arg-type]
        if isinstance(node, ast.ClassDef):
            if not doc:
                found.append(f"{name}: docstring がない")
            continue
        assert isinstance(node, FunctionNode)
        if is_property(node):
            if not doc:
                found.append(f"{name}: docstring がない")
            continue
        skip = exempt.get(name, frozenset())
        if node.name == "__init__" and owner is not None:
            # 引数はクラスの docstring に書いてもよい
            doc = doc + "\n" + (ast.get_docstring(owner) or "")
        elif not doc:
            found.append(f"{name}: docstring がない")
            continue
        params = parameter_names(node)
        if params and PARAMS not in skip:
            if not has_section(doc, PARAMS):
                found.append(f"{name}: Parameters の節がない")
            else:
                text = section_text(doc, PARAMS)
                missing = [
                    p
                    for p in params
                    if not re.search(rf"(?<![\w.]){re.escape(p)}(?!\w)", text)
                ]
                if missing:
                    found.append(f"{name}: 引数 {missing} の説明がない")
        if (
            node.name != "__init__"
            and returns_value(node)
            and RETURNS not in skip
            and not has_section(doc, RETURNS)
        ):
            found.append(f"{name}: Returns の節がない")
    return found


def exemptions(relative: str) -> dict[str, frozenset[str]]:
    """モジュール relative の免除(オブジェクト → 節)。"""
    return {obj: s for (mod, obj), s in COMPACT.items() if mod == relative}


def test_public_functions_have_numpy_sections():
    paths = module_paths()
    assert len(paths) >= 25  # 対象のモジュールを実際に読めている
    found = []
    for path in paths:
        relative = path.relative_to(PACKAGE).as_posix()
        source = path.read_text(encoding="utf-8")
        found += [
            f"{relative}: {p}" for p in problems(source, exemptions(relative))
        ]
    assert not found, "NumPy 形式の docstring が足りない:\n" + "\n".join(found)


def test_undocumented_function_is_detected():
    source = (
        "def documented(x: int) -> int:\n"
        '    """2 倍する。\n\n    Parameters\n    ----------\n'
        "    x : int\n        値。\n\n"
        '    Returns\n    -------\n    int\n        2 倍した値。\n    """\n'
        "    return 2 * x\n\n\n"
        "def bare(x: int) -> int:\n    return x\n\n\n"
        "def no_sections(x: int, y: int) -> int:\n"
        '    """足す。"""\n    return x + y\n\n\n'
        "def _private(x: int) -> int:\n    return x\n"
    )
    assert problems(source) == [
        "bare: docstring がない",
        "no_sections: Parameters の節がない",
        "no_sections: Returns の節がない",
    ]


def test_missing_parameter_is_detected():
    source = (
        "class A:\n"
        '    """A。"""\n\n'
        "    def f(self, x: int, y: int) -> None:\n"
        '        """f。\n\n        Parameters\n        ----------\n'
        '        x : int\n            値。\n        """\n'
    )
    assert problems(source) == ["A.f: 引数 ['y'] の説明がない"]


def test_compact_entries_are_listed_and_still_needed():
    """免除は本文が見せるオブジェクトだけで、節を書けたら外す。"""
    listed = set()
    for chapter in sorted((ROOT / "book").glob("*.md")):
        text = chapter.read_text(encoding="utf-8")
        for m in listing_sizes.DIRECTIVE.finditer(text):
            opts = dict(re.findall(r":(\w+):\s*(.*)", m.group(2)))
            if "pyobject" in opts:
                source = (chapter.parent / m.group(1)).resolve()
                if source.is_relative_to(PACKAGE):
                    rel = source.relative_to(PACKAGE).as_posix()
                    listed.add((rel, opts["pyobject"]))
    for (module, name), sections in COMPACT.items():
        owner = name.split(".")[0]
        assert (module, name) in listed or (module, owner) in listed, (
            f"{module}: {name} は本文に出ないので、節を省けません"
        )
        source = (PACKAGE / module).read_text(encoding="utf-8")
        without = problems(source, {})
        still = [p for p in without if p.startswith(f"{name}: ")]
        assert still, f"{module}: {name} は節がそろったので COMPACT から外す"
        for section in sections:
            hint = "引数" if section == PARAMS else section
            assert any(
                section in p or hint in p or "docstring" in p for p in still
            ), f"{module}: {name} の {section} はもう免除が要らない"
