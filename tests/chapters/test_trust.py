"""medrnn.chapters.trust: 区間・較正・言葉・主張の検査。

学習の代わりに、線形 AR の予測をシードごとに少し揺らしたものを
「アンサンブル」とし、ロジットは乱数で作る(速さのため)。
"""

import dataclasses

import numpy as np
import pytest
import torch

from medrnn.cgm import tasks as cgm_tasks
from medrnn.chapters import trust as chapter
from medrnn.core.compare import Comparison
from medrnn.core.training import TrainConfig
from medrnn.trust import calibration as cal
from medrnn.trust.subgroups import Subgroup


def _fake_ensemble(data, n_members=5):
    preds = {g: cgm_tasks.linear_ar_forecast(data, g) for g in ("val", "test")}
    rng = np.random.default_rng(0)
    members = {
        g: np.stack([p + rng.normal(0, 1.0, p.shape) for _ in range(5)])
        for g, p in preds.items()
    }
    return chapter.Ensemble([], members["val"], members["test"])


def _fake_beats():
    rng = np.random.default_rng(1)
    z = {g: rng.normal(0, 3, n) for g, n in (("val", 60), ("test", 90))}
    y = {
        g: (rng.random(len(v)) < cal.sigmoid(v)).astype(float)
        for g, v in z.items()
    }
    t = cal.fit_temperature(z["val"], y["val"])
    return chapter.BeatCalibration(t, z["val"], z["test"], y["val"], y["test"])


@pytest.fixture(scope="module")
def results(data):
    ens = _fake_ensemble(data)
    intervals = {s: chapter.make_intervals(ens, data, s) for s in (6, 12)}
    gaps = {"cgm": (1e-4, 10.0), "ecg": (1e-3, 2.0)}
    return data, ens, intervals, _fake_beats(), gaps


def _failures(results, **changes):
    args = dict(zip(("data", "ens", "intervals", "beats", "ig_gaps"), results))
    args.update(changes)
    return chapter.check_claims(**args)


def _has(failures, start):
    return any(f.startswith(start) for f in failures)


# --- 主張の検査 ----------------------------------------------------------


def test_realistic_results_pass_every_claim(results):
    assert _failures(results) == []


def test_claim_catches_a_patient_in_two_groups(results):
    data = results[0]
    groups = {k: list(v) for k, v in data.groups.items()}
    groups["val"].append(groups["test"][0])
    bad = dataclasses.replace(data, groups=groups)
    assert _has(_failures(results, data=bad), "訓練・較正")


def _replace_step(results, step, **fields):
    intervals = dict(results[2])
    intervals[step] = dataclasses.replace(intervals[step], **fields)
    return intervals


def test_claim_catches_a_wrong_quantile(results):
    iv = results[2][6]
    lower, upper = iv.conformal
    intervals = _replace_step(
        results, 6, q=iv.q * 0.5, conformal=(lower, upper)
    )
    failures = _failures(results, intervals=intervals)
    assert _has(failures, "コンフォーマルの半幅は")


def test_claim_catches_uneven_widths_and_a_narrow_60_minutes(results):
    lower, upper = results[2][6].conformal
    uneven = _replace_step(
        results, 6, conformal=(lower, upper + np.arange(len(upper)))
    )
    assert _has(
        _failures(results, intervals=uneven), "コンフォーマルの区間の幅"
    )
    swapped = {6: results[2][12], 12: results[2][6]}
    assert _has(_failures(results, intervals=swapped), "60 分先の")


def test_claim_catches_an_interval_that_covers_outside_zone_a(results):
    iv = results[2][6]
    hugging = (iv.target - 0.5, iv.target + 0.5)  # 正解をいつも含む
    intervals = _replace_step(results, 6, conformal=hugging)
    assert _has(_failures(results, intervals=intervals), "A 領域の外")


def test_claim_catches_a_wide_ensemble(results):
    iv = results[2][12]
    wide = (iv.pred - 500.0, iv.pred + 500.0)
    intervals = _replace_step(results, 12, ensemble=wide)
    assert _has(_failures(results, intervals=intervals), "深層アンサンブル")


def test_claim_catches_a_temperature_that_flips_or_worsens(results):
    beats = results[3]
    flipped = dataclasses.replace(beats, temperature=-1.0)
    assert _has(
        _failures(results, beats=flipped), "温度スケーリングで、どの拍"
    )
    worse = dataclasses.replace(beats, temperature=50.0)
    assert _has(_failures(results, beats=worse), "温度スケーリングで、検証")


def test_claim_catches_incomplete_integrated_gradients(results):
    gaps = {"cgm": (1.0, 10.0)}
    assert _has(_failures(results, ig_gaps=gaps), "統合勾配の帰属の合計")


# --- 区間・表・言葉 ------------------------------------------------------


def test_intervals_use_the_ensemble_mean_and_constant_conformal_width(results):
    data, ens, intervals = results[:3]
    iv = intervals[6]
    np.testing.assert_allclose(iv.pred, ens.test_pred.mean(axis=0)[:, 5])
    np.testing.assert_allclose(iv.widths("conformal"), 2 * iv.q)
    assert iv.hits("conformal").shape == (len(data.windows["test"].X),)


def test_tables_have_one_row_per_item(results, hall):
    data, ens, intervals = results[:3]
    patients = data.windows["test"].subject
    assert len(chapter.coverage_rows(intervals, patients)) == 4
    diagnoses = {s.subject_id: s.diagnosis for s in hall}
    rows = chapter.patient_rows(intervals, data, diagnoses)
    assert [r["患者"] for r in rows] == list(dict.fromkeys(patients))
    groups = chapter.cgm_subgroups(
        ens, cgm_tasks.linear_ar_forecast(data), data, diagnoses
    )
    assert len(chapter.subgroup_rows(groups)) == len(groups) == 5
    hypo = {s: chapter.hypo_coverage(iv) for s, iv in intervals.items()}
    zones = {s: chapter.zone_coverage(iv) for s, iv in intervals.items()}
    assert len(chapter.overtrust_rows(hypo, zones)) == 2


def test_exercise_1_width_does_not_grow_with_alpha(results):
    data, ens = results[:2]
    out = chapter.exercise_1(ens, data, alphas=(0.1, 0.2, 0.3))
    widths = [out[a][1] for a in (0.1, 0.2, 0.3)]
    assert widths[0] >= widths[1] >= widths[2]


def test_exercise_3_and_confident_errors(results):
    beats = results[3]
    out = chapter.exercise_3(beats, bins=(5, 10))
    assert set(out) == {5, 10}
    n_sure, n_wrong = chapter.confident_errors(beats, scaled=False)
    assert 0 <= n_wrong <= n_sure <= len(beats.labels_test)


def _comparison(low, high):
    return Comparison("A", "B", (), 0.0, 0.0, low, high, 0, 5, "テスト")


def test_words_follow_the_verdicts():
    assert "少ない" in chapter.coverage_words(_comparison(-0.2, -0.1))
    assert "届かない" in chapter.coverage_words(_comparison(0.1, 0.2))
    assert "判断できない" in chapter.coverage_words(_comparison(-0.1, 0.1))
    assert "判定しない" in chapter.coverage_words(None)
    assert "判定しない" in chapter.subgroup_words(Subgroup(10, 2, None))
    g = Subgroup(10, 4, _comparison(-0.2, -0.1))
    assert chapter.subgroup_words(g) == "線形 AR より誤差が小さい"
    assert "下端" in chapter.temperature_words(np.exp(-3.0))
    assert "内側" in chapter.temperature_words(1.0)


def test_randomization_verdicts():
    sims = {
        "統合勾配": {"head": 0.9, "head+recurrent": 0.3},
        "遮蔽": {"head": 0.9, "head+recurrent": 0.8},
    }
    assert chapter.passed_methods(sims) == "統合勾配"
    assert chapter.passed_methods({"遮蔽": sims["遮蔽"]}) == "なし"
    rows = chapter.randomization_rows(
        {"課題": sims}, {"課題": {"統合勾配": 0.1, "遮蔽": 0.9}}
    )
    assert [r["判定"] for r in rows] == ["合格", "不合格"]


def test_beat_time_axis_and_label_window():
    t = chapter.beat_times_s()
    assert len(t) == 39  # 0.65 s × 360 Hz ÷ 6
    assert t[0] < -0.24 and t[-1] < 0.40
    inside = chapter.label_window(t)
    assert inside.any() and not inside.all()
    assert np.all(t[inside] >= -0.10) and np.all(t[inside] <= 0.15)


def test_stretch_stays_in_one_segment(data):
    center = len(data.windows["test"].X) // 2
    near = chapter.stretch(data, center, half=10)
    segment = data.windows["test"].segment
    assert center in near and len(set(segment[near])) == 1
    assert np.abs(near - center).max() <= 10


def test_zone_a_floor():
    assert chapter.zone_a_floor(20.0) == pytest.approx(100.0)


# --- 学習の煙テスト(数秒) ----------------------------------------------


def test_train_ensemble_smoke(data):
    ens = chapter.train_ensemble(
        data, seeds=(0,), train=TrainConfig(epochs=1, batch_size=512)
    )
    n_val, n_test = len(data.windows["val"].X), len(data.windows["test"].X)
    assert ens.val_pred.shape == (1, n_val, 12)
    assert ens.test_pred.shape == (1, n_test, 12)
    assert np.all(np.isfinite(ens.val_pred))


def test_report_needs_two_seeds():
    with pytest.raises(ValueError, match="n_seeds"):
        chapter.report(n_seeds=1)


def test_input_likeness_is_one_for_the_input_itself():
    x = torch.randn(4, 6, 1)
    out = chapter.input_likeness({"入力": x.numpy(), "逆": -x.numpy()}, x)
    assert out["入力"] == pytest.approx(1.0)
