"""medrnn.chapters.cgm: 比較・向きの言葉・主張の検査・report()。"""

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from medrnn.cgm import tasks as cgm_tasks
from medrnn.chapters import cgm as chapter
from medrnn.core.compare import Comparison
from medrnn.core.training import TrainConfig

ROOT = Path(__file__).resolve().parents[2]


def _fake_runs(baselines, data, n_seeds=5):
    """学習の代わり: 線形 AR の予測を平均に寄せ、シードごとに揺らす。"""
    ar = baselines["線形 AR"]
    runs = {}
    for k, name in enumerate(chapter.MODELS):
        preds = []
        for seed in range(n_seeds):
            rng = np.random.default_rng(100 * k + seed)
            shrunk = data.mean + 0.97 * (ar - data.mean)  # 平均に寄せた予測
            preds.append(shrunk + rng.normal(0, 1.0, ar.shape))
        runs[name] = [cgm_tasks.CGMRun(None, None, p, 0.0) for p in preds]
    return runs


@pytest.fixture(scope="module")
def results(data):
    baselines = cgm_tasks.baseline_forecasts(data)
    return chapter.CGMResults(data, baselines, _fake_runs(baselines, data))


@pytest.fixture(scope="module")
def ids(hall):
    return [s.subject_id for s in hall]


def _with(results, baselines=None, runs=None, data=None):
    return chapter.CGMResults(
        data or results.data,
        {**results.baselines, **(baselines or {})},
        {**results.runs, **(runs or {})},
    )


def _runs_of(preds):
    return [cgm_tasks.CGMRun(None, None, p, 0.0) for p in preds]


# --- 主張の検査 ----------------------------------------------------------


def test_real_looking_results_pass_every_claim(results, ids):
    assert chapter.check_claims(results, ids) == []


def _failures_with_groups(results, ids, groups):
    data = dataclasses.replace(results.data, groups=groups)
    return chapter.check_claims(_with(results, data=data), ids)


def test_claim_catches_a_patient_in_two_groups(results, ids):
    groups = {k: list(v) for k, v in results.data.groups.items()}
    groups["train"].append(groups["test"][0])
    failures = _failures_with_groups(results, ids, groups)
    assert "同じ被験者が 2 つの組に入っていない" in failures


def test_claim_catches_a_missing_subject_and_wrong_sizes(results, ids):
    assert "全員がどれかの組に入っている" in chapter.check_claims(
        results, [*ids, "9999-999"]
    )
    groups = {k: list(v) for k, v in results.data.groups.items()}
    groups["val"].append(groups["train"].pop())
    failures = _failures_with_groups(results, ids, groups)
    assert "組の人数は訓練 11・検証 3・テスト 5" in failures


def test_claim_catches_windows_from_another_group(results, ids):
    w = results.data.windows["test"]
    subject = w.subject.copy()
    subject[0] = results.data.groups["train"][0]
    windows = {
        **results.data.windows,
        "test": dataclasses.replace(w, subject=subject),
    }
    data = dataclasses.replace(results.data, windows=windows)
    failures = chapter.check_claims(_with(results, data=data), ids)
    assert "各組の窓は、その組の被験者の記録だけから作られている" in failures


def test_claim_catches_an_error_that_does_not_grow(results, ids):
    pred = results.runs["GRU"][0].test_pred.copy()
    pred[:, 11] = results.target[:, 11]  # 60 分先だけ完全に当たる
    runs = {
        "GRU": _runs_of(
            [pred] + [r.test_pred for r in results.runs["GRU"][1:]]
        )
    }
    failures = chapter.check_claims(_with(results, runs=runs), ids)
    assert any(
        f.startswith("どの方法・どのシードでも、60 分先") for f in failures
    )


def test_claim_catches_a_network_far_ahead_of_linear_ar(results, ids):
    better = results.target + 0.3 * (
        results.baselines["線形 AR"] - results.target
    )  # 誤差を 3 割に
    runs = {"RNN": _runs_of([better] * 5)}
    failures = chapter.check_claims(_with(results, runs=runs), ids)
    assert any("線形 AR を 1 mg/dL 以上は下回らない" in f for f in failures)


def test_claim_catches_a_model_that_predicts_many_lows(results, ids):
    runs = {"LSTM": _runs_of([results.target - 40.0] * 5)}
    failures = chapter.check_claims(_with(results, runs=runs), ids)
    assert any("実測が下回った時点の数より少ない" in f for f in failures)


def test_claim_catches_a_trend_without_false_alerts(results, ids):
    failures = chapter.check_claims(
        _with(results, baselines={"直線の外挿": results.target.copy()}), ids
    )
    assert "30 分先の直線の外挿の誤警報は、線形 AR より多い" in failures


def test_claim_catches_a_threshold_that_lowers_sensitivity(
    results, ids, monkeypatch
):
    monkeypatch.setattr(chapter, "ALERT_HIGHER", 60.0)  # 上げずに下げる
    failures = chapter.check_claims(results, ids)
    assert (
        "警報のしきい値を上げても、感度と警報が出たエピソードは減らない"
        in failures
    )


def test_claim_catches_clarke_zone_a_that_grows(results, ids):
    ar = results.baselines["線形 AR"].copy()
    ar[:, 11] = results.target[:, 11]  # 60 分先は全点が A
    failures = chapter.check_claims(
        _with(results, baselines={"線形 AR": ar}), ids
    )
    assert any("Clarke の A 領域" in f for f in failures)


# --- 比較と向きの言葉 ----------------------------------------------------


def test_compare_methods_pairs_by_seed_and_by_patient(results):
    comps = chapter.compare_methods(results)
    assert set(comps) == {
        (a, b, s) for s in chapter.STEPS for a, b in chapter.PAIRS
    }
    base = comps[("線形 AR", "持続予測", 6)]
    assert base.by_seed is None and base.by_patient.n == 5  # テストの 5 人
    assert "患者単位" in base.by_patient.method
    net = comps[("LSTM", "線形 AR", 6)]
    assert net.by_seed.n == 5 and len(net.by_seed.diffs) == 5
    expected = (
        np.mean(chapter.run_rmse(results, "LSTM", 6))
        - chapter.run_rmse(results, "線形 AR", 6)[0]
    )
    assert net.by_seed.mean_diff == pytest.approx(expected)
    rows = chapter.comparison_rows(comps)
    assert len(rows) == len(comps)
    assert rows[0]["シードの 95% 区間(判定)"].startswith("—")
    assert list(rows[0]) == [
        "先",
        "比較(A − B)",
        "RMSE の差",
        "シードの 95% 区間(判定)",
        "患者の 95% 区間(判定)",
        "A が良かった患者",
    ]


def _c(low, high):
    return Comparison(
        "A", "B", (), (low + high) / 2, 1.0, low, high, 0, 5, "テスト"
    )


@pytest.mark.parametrize(
    "seed, patient, expected",
    [
        ((-2, -1), (-3, -1), "better"),
        ((1, 2), (1, 3), "worse"),
        ((-2, -1), (-1, 1), "cannot tell"),
        ((-2, -1), (1, 2), "cannot tell"),
        (None, (-3, -1), "better"),
        (None, (-1, 1), "cannot tell"),
    ],
)
def test_overall_verdict_needs_both_verdicts_to_agree(seed, patient, expected):
    pc = chapter.PairComparison(6, _c(*seed) if seed else None, _c(*patient))
    assert chapter.overall_verdict(pc) == expected


def test_direction_words_cover_every_glued_key_in_the_book(results):
    comps = chapter.compare_methods(results)
    words = chapter.direction_words(comps)
    text = (ROOT / "book" / "cgm.md").read_text(encoding="utf-8")
    used = set(re.findall(r"\{glue:text\}`(cgm_[a-z_0-9]+_dir)`", text))
    assert used and used - {"cgm_ex1_dir"} <= set(words)
    assert words["cgm_lstm_ar_6_seed_dir"] in {
        w.format(b="線形 AR ") for w in chapter.WORDS.values()
    }
    assert words["cgm_ar_persist_6_dir"].startswith("持続予測より")
    counts = chapter.verdict_counts(comps, "線形 AR", 6)
    assert sum(counts.values()) == 3


def test_change_words():
    assert chapter.change_words(1, 2) == "増えました"
    assert chapter.change_words(2, 1) == "減りました"
    assert chapter.change_words(2, 2).endswith("変わりませんでした")


def test_group_overlaps_counts_shared_subjects():
    overlaps = chapter.group_overlaps(
        {"train": ["a", "b"], "val": ["b"], "test": ["c"]}
    )
    assert overlaps == {
        "train と val": 1,
        "train と test": 0,
        "val と test": 0,
    }


def test_compare_input_lengths_uses_common_windows(hall, data):
    long = cgm_tasks.prepare_cgm(
        hall,
        chapter.CHAPTER_SPLIT,
        dataclasses.replace(chapter.CHAPTER_FORECAST, seq_len=48),
    )
    c, n_common = chapter.compare_input_lengths(data, long)
    assert n_common == len(long.windows["test"].X)
    assert (c.name_a, c.name_b) == ("入力 240 分", "入力 60 分")
    assert c.n == 5 and c.low <= c.mean_diff <= c.high


# --- report() -----------------------------------------------------------


def test_report_runs_quickly_with_a_tiny_config(monkeypatch, capsys):
    monkeypatch.setattr(
        chapter,
        "CHAPTER_TRAIN",
        TrainConfig(epochs=1, batch_size=512, lr=1e-2),
    )
    monkeypatch.setattr(chapter, "CHAPTER_HIDDEN", 4)
    chapter.report(seed=0, n_seeds=2)
    out = capsys.readouterr().out
    for line in (
        "test:",
        "RMSE 30 分",
        "患者の 95% 区間",
        "LSTM − GRU",
        "誤警報",
        "本文の主張の検査",
    ):
        assert line in out


def test_report_rejects_zero_seeds():
    with pytest.raises(ValueError, match="n_seeds"):
        chapter.report(n_seeds=0)


def test_exercise_1_rebuilds_longer_inputs(hall, data):
    by_len, out = chapter.exercise_1(hall, data)
    assert by_len[12] is data and sorted(by_len) == [12, 24, 48]
    assert out["n_12"] > out["n_24"] > out["n_48"] > 0
    assert all(out[k] > 0 for k in ("12", "24", "48"))


def test_exercise_2_higher_threshold_never_lowers_sensitivity(data):
    w = data.windows["test"]
    target = w.Y[:, chapter.STEP_30 - 1]
    pred = cgm_tasks.linear_ar_forecast(data)[:, chapter.STEP_30 - 1]
    at_70 = cgm_tasks.hypo_alerts(pred, target, w.segment)
    at_80 = chapter.exercise_2(pred, target, w.segment)
    assert at_80.sensitivity >= at_70.sensitivity
    assert at_80.n_events_alerted >= at_70.n_events_alerted


def test_exercise_3_uses_another_split(hall):
    out = chapter.exercise_3(hall)
    assert set(out) == {"persist", "ar"} and all(v > 0 for v in out.values())
