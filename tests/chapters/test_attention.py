"""medrnn.chapters.attention: 比較・向きの言葉・主張の検査・本文の設定。"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from medrnn.chapters import attention as chapter
from medrnn.core.models.attention import TransformerConfig
from medrnn.core.training import TrainConfig

ROOT = Path(__file__).resolve().parents[2]
TINY = TrainConfig(epochs=1, batch_size=512, lr=1e-2)  # 数秒で終わる学習


@pytest.fixture(scope="module")
def cgm(data):
    """CGM の章の窓で、小さなモデルを 2 シード・1 エポックだけ学習した結果。"""
    factories = chapter.cgm_factories(
        hidden_size=8,
        transformer=TransformerConfig(
            d_model=8, nhead=2, dim_feedforward=8, output_size=12
        ),
    )
    setup = chapter.TaskSetup(TINY, chapter.CGM_PATIENCE, factories)
    res = chapter.run_cgm(data, (0, 1), setup)
    # 1 エポックの予測は粗すぎるので、比べる予測だけ現実的なものに置き換える
    # (線形 AR の予測を平均に寄せ、シードごとに揺らす)。モデルはそのまま
    ar = res.baselines["線形 AR"]
    for k, name in enumerate(res.runs):
        rng = np.random.default_rng(k)
        shrunk = data.mean + 0.97 * (ar - data.mean)
        res.predictions[name] = np.stack(
            [shrunk + rng.normal(0, 1.0, ar.shape) for _ in range(2)]
        )
    return res


@pytest.fixture(scope="module")
def checks(cgm, data):
    return chapter.check_weights(cgm, data)


@pytest.fixture(scope="module")
def facts(cgm, data):
    return chapter.structural_facts(cgm, data)


# --- 主張の検査 ----------------------------------------------------------


def test_real_results_pass_every_claim(facts, checks, cgm, data):
    assert chapter.check_claims(facts, checks, cgm, data) == []


def _fails(facts, checks, cgm, data, start):
    failures = chapter.check_claims(facts, checks, cgm, data)
    assert any(f.startswith(start) for f in failures), failures


def test_claim_catches_scratch_that_differs_from_nn(facts, checks, cgm, data):
    bad = dataclasses.replace(facts, gaps={**facts.gaps, "output": 1e-2})
    _fails(bad, checks, cgm, data, "式から書いたエンコーダ層")


def test_claim_catches_weight_on_the_future(facts, checks, cgm, data):
    for change in ({"masked": 1e-3}, {"tf_upper": 1e-3}):
        bad = dataclasses.replace(facts, **change)
        _fails(bad, checks, cgm, data, "因果マスクを付けると")


def test_claim_catches_a_leak_and_a_powerless_check(facts, checks, cgm, data):
    leak = dataclasses.replace(facts, causal={"causal": 0.1, "no_mask": 0.1})
    _fails(leak, checks, cgm, data, "学習した Transformer は")
    blind = dataclasses.replace(facts, causal={"causal": 0.0, "no_mask": 0.0})
    _fails(blind, checks, cgm, data, "マスクを外すと")


def test_claim_catches_order_blindness_that_breaks(facts, checks, cgm, data):
    for order in (
        {"without_pe": 0.1, "with_pe": 0.1},  # 並べ替えで変わってしまう
        {"without_pe": 0.0, "with_pe": 0.0},  # 位置を足しても変わらない
    ):
        bad = dataclasses.replace(facts, order=order)
        _fails(bad, checks, cgm, data, "位置エンコーディングもマスクも")


def test_claim_catches_weights_that_are_not_distributions(
    facts, checks, cgm, data
):
    alpha = checks.alpha.copy()
    alpha[0, 0] = -0.1
    bad = dataclasses.replace(checks, alpha=alpha)
    _fails(facts, bad, cgm, data, "注意の重みは窓ごとに")
    bad = dataclasses.replace(checks, alpha=2 * checks.alpha)
    _fails(facts, bad, cgm, data, "注意の重みは窓ごとに")


def test_claim_catches_a_weight_swap_that_changes_the_model(
    facts, checks, cgm, data
):
    bad = dataclasses.replace(checks, reproduce_gap=0.5)
    _fails(facts, bad, cgm, data, "重みを差し替える関数")


def test_claim_catches_far_weights_that_move_the_prediction(
    facts, checks, cgm, data
):
    change = checks.adv_change.copy()
    change[0] = chapter.EPS_MGDL + 0.5
    bad = dataclasses.replace(checks, adv_change=change)
    _fails(facts, bad, cgm, data, "最も遠い重みでも")


def test_claim_catches_test_windows_from_another_patient(
    facts, checks, cgm, data
):
    groups = cgm.groups.copy()
    groups[0] = data.groups["train"][0]
    bad = dataclasses.replace(cgm, groups=groups)
    _fails(facts, checks, bad, data, "テストの窓は")


def test_claim_catches_an_error_that_does_not_grow(facts, checks, cgm, data):
    preds = cgm.predictions["GRU"].copy()
    preds[0, :, 11] = cgm.target[:, 11]  # 60 分先だけ完全に当たる
    bad = dataclasses.replace(
        cgm, predictions={**cgm.predictions, "GRU": preds}
    )
    _fails(facts, checks, bad, data, "どのモデル・どのシードでも")


# --- 結果の表・比較・言葉 ---------------------------------------------


def test_results_hold_every_method_and_seed(cgm):
    assert set(cgm.runs) == set(chapter.CGM_NAMES)
    assert set(cgm.baselines) == {"持続予測", "直線の外挿", "線形 AR"}
    for name in chapter.CGM_NAMES:
        assert cgm.preds(name).shape == (2, *cgm.target.shape)
    rows = chapter.result_rows(cgm, (6, 12), 5)
    r = chapter.run_rmse(cgm, "GRU", 6)  # 2 シード
    assert rows[-3]["RMSE 30 分"] == f"{r.mean():.2f} ± {r.std(ddof=1):.2f}"
    # 基準法は平均だけ
    assert re.fullmatch(r"\d+\.\d\d", rows[0]["RMSE 30 分"])
    assert [r["方法"] for r in rows] == [*cgm.baselines, *cgm.runs]
    assert "RMSE 30 分" in rows[0] and "パラメータ数" in rows[0]


def test_comparisons_pair_by_seed_and_patient(cgm):
    cmp = chapter.compare_all(cgm, chapter.CGM_PAIRS, (6,))
    pc = cmp[("GRU + 注意", "GRU", 6)]
    assert pc.by_seed is not None and pc.by_seed.n == 2
    assert pc.by_patient.n == 5  # テストの 5 人
    rows = chapter.comparison_rows(cmp, 5)
    assert rows[0]["先"] == "30 分" and "患者の 95% 区間(判定)" in rows[0]
    assert rows[0]["A が良かった数"] == f"{pc.by_patient.wins}/5"
    assert "先" not in chapter.comparison_rows(cmp)[0]  # 先の列なし
    words = chapter.direction_words("cgm", cmp)
    assert set(words) == {
        f"{chapter.glue_key('cgm', a, b, 6)}_dir" for a, b in chapter.CGM_PAIRS
    }
    assert all(w.startswith(("GRU", "線形 AR")) for w in words.values())


def test_seedless_pairs_have_no_seed_comparison(cgm):
    pc = chapter.compare_pair(cgm, "線形 AR", "持続予測", 6)
    assert pc.by_seed is None
    assert (
        chapter.comparison_rows({("線形 AR", "持続予測", 6): pc})[0][
            "シードの 95% 区間(判定)"
        ]
        == "—"
    )


def test_weight_checks_have_window_shapes(checks, cgm):
    n, T = len(cgm.target), 12
    assert checks.alpha.shape == checks.adv_weights.shape == (n, T)
    assert checks.perm_change.shape == checks.adv_tv.shape == (n,)
    assert 0 <= checks.top_agree <= 1 and 0 <= checks.both_last <= 1
    assert checks.uniform.by_patient.name_b == "一様な重み"


def test_permutation_words_follow_the_numbers():
    moves = chapter.permutation_words(np.full(10, 5.0))
    still = chapter.permutation_words(np.full(10, 0.1))
    assert "動かします" in moves and "あまり" in still


def test_example_windows_rise_fall_and_flat(data):
    rise, fall, flat = chapter.example_windows(data)
    X = data.windows["test"].X
    assert X[rise, -1] > X[rise, -7] and X[fall, -1] < X[fall, -7]
    assert np.ptp(X[flat]) <= np.ptp(X[rise])


def test_exercises_give_the_stated_directions(checks):
    ex1 = chapter.exercise_1(64)
    assert ex1["top_raw"] > ex1["top"] and ex1["sd_raw"] > 5 * ex1["sd"]
    ex2 = chapter.exercise_2()
    assert ex2["without_pe"] < 1e-5 < 1e-2 < ex2["with_pe"]
    ex3 = chapter.exercise_3(checks.alpha)
    assert 0 <= ex3["last_mean"] <= 1 and ex3["uniform"] == pytest.approx(
        1 / 12
    )


def test_scaling_table_rows():
    rows = chapter.scaling_table((4, 16))
    assert [r["d_k"] for r in rows] == ["4", "16"]


def test_report_needs_two_seeds():
    with pytest.raises(ValueError, match="n_seeds"):
        chapter.report(n_seeds=1)


def test_settings_in_the_text_match_the_module():
    """本文に書いた学習の設定が、章のモジュールの設定と同じ。"""
    text = (ROOT / "book" / "attention.md").read_text(encoding="utf-8")
    cgm, vit = chapter.CGM_TRAIN, chapter.VITALS_TRAIN
    assert (
        f"バッチサイズ {cgm.batch_size}、最大 {cgm.epochs} エポックで、"
        f"検証の組の損失が {chapter.CGM_PATIENCE} エポック続けて" in text
    )
    assert re.search(rf"学習率 {cgm.lr:g}\)", text.replace("(", ")"))
    assert (
        f"最大 {vit.epochs} エポック・\nバッチ {vit.batch_size}・"
        f"学習率 {vit.lr:g}・我慢 {chapter.VITALS_PATIENCE}" in text
    )
    assert f"上限の {cgm.epochs} に近ければ" in text
    tf = chapter.CGM_TRANSFORMER
    assert f"$d_\\text{{model}} = {tf.d_model}$、{tf.nhead} ヘッド" in text
