"""medrnn.chapters.ecg: 比較の組み立て、主張の検査、report()。"""

from dataclasses import replace

import numpy as np
import pytest
from torch import nn

from medrnn.chapters import ecg as ch
from medrnn.core.training import History, TrainConfig
from medrnn.ecg import record as ecg
from medrnn.ecg import tasks as ecg_tasks
from medrnn.ecg.tasks import BeatRun, BinaryMetrics


@pytest.fixture(scope="module")
def real_data():
    """実際の記録から作った表・課題 A と B のデータ(学習はしない)。"""
    x = ecg.load_ecg()
    bounds = ch.CHAPTER_SPLIT.bounds(len(x))
    table = ecg.label_beats(
        x, ecg.detect_r_peaks(x), template_until=bounds["train"][1]
    )
    fdata = ecg_tasks.prepare_waveform(x, ch.CHAPTER_FORECAST)
    bdata = ecg_tasks.prepare_beats(x, table, ch.CHAPTER_BEATS)
    return x, table, fdata, bdata


def beat_run(tp: int, fn: int, fp: int, tn: int) -> BeatRun:
    return BeatRun(
        BinaryMetrics(tp, fn, fp, tn), History(), 0.1, nn.Identity()
    )


def fake_beat_runs(wf_linear=(27, 1, 0, 62), rr_linear=(18, 10, 20, 42)):
    """本物らしい結果: 波形はほぼ一致、RR はずっと低い(5 シード)。"""
    runs = {}
    for inputs, kind in [
        (i, k) for i in ecg_tasks.BEAT_INPUTS for k in ecg_tasks.BEAT_MODELS
    ]:
        base = {
            ("waveform", "linear"): wf_linear,
            ("rr", "linear"): rr_linear,
        }.get(
            (inputs, kind),
            (26, 2, 1, 61) if inputs == "waveform" else (17, 11, 22, 40),
        )
        runs[inputs, kind] = [
            beat_run(base[0] - (s % 2), base[1] + (s % 2), base[2], base[3])
            for s in range(5)
        ]
    return runs


RULE = BinaryMetrics(tp=1, fn=27, fp=0, tn=62)
HORIZON = {
    1: {"persist": 0.21, "ar": 0.17, "mean": 0.454},
    4: {"persist": 0.456, "ar": 0.396, "mean": 0.454},
    8: {"persist": 0.58, "ar": 0.455, "mean": 0.454},
}
NEAR_FAR = (0.42, 0.18)


def claims(real_data, **changes):
    x, table, fdata, bdata = real_data
    args = {
        "table": table,
        "n_samples": len(x),
        "fdata": fdata,
        "bdata": bdata,
        "beat_runs": fake_beat_runs(),
        "rule": RULE,
        "horizon_rmse": HORIZON,
        "near_far_rmse": NEAR_FAR,
    }
    args.update(changes)
    return ch.check_claims(**args)


def test_real_looking_results_pass(real_data):
    assert claims(real_data) == []


def test_window_crossing_a_boundary_is_caught(real_data):
    fdata = real_data[2]
    shifted = {**fdata.target_index, "val": fdata.target_index["val"] - 20}
    bad = replace(fdata, target_index=shifted)
    assert claims(real_data, fdata=bad) == [
        "予測の窓は、入力も正解も自分の区間(時間順)の中だけで作られている"
    ]


def test_beat_in_two_segments_is_caught(real_data):
    bdata = real_data[3]
    index = {
        **bdata.index,
        "val": np.concatenate([bdata.index["train"][-1:], bdata.index["val"]]),
    }
    assert claims(real_data, bdata=replace(bdata, index=index)) == [
        "拍は 1 つの区間にだけ入り、入力の範囲がその区間の中に収まる"
    ]


def test_each_fabricated_result_is_caught(real_data):
    cases = {
        "タイミングの規則は、形の違う拍のほとんどを見逃す(感度が低い)": {
            "rule": BinaryMetrics(tp=25, fn=3, fp=5, tn=57)
        },
        "波形を入力にすると、ロジスティック回帰でも規則とほぼ一致する(循環)": {
            "beat_runs": fake_beat_runs(
                wf_linear=(20, 8, 10, 52), rr_linear=(10, 18, 20, 42)
            )
        },
        "ロジスティック回帰では、RR 入力は波形入力に大きく届かない": {
            "beat_runs": fake_beat_runs(rr_linear=(26, 2, 2, 60))
        },
        "持続予測の RMSE は、予測先が遠いほど大きい": {
            "horizon_rmse": {**HORIZON, 4: {**HORIZON[4], "persist": 0.6}}
        },
        "8 点先では、持続予測が訓練平均より悪い": {
            "horizon_rmse": {**HORIZON, 8: {**HORIZON[8], "mean": 0.7}}
        },
        "GRU の予測誤差は、形が違う拍の近くのほうが大きい": {
            "near_far_rmse": (0.15, 0.18)
        },
    }
    for text, change in cases.items():
        assert claims(real_data, **change) == [text], text


def test_beat_comparisons_are_paired_and_higher_is_better():
    out = ch.beat_comparisons(fake_beat_runs())
    c = out["rr_wf_linear"]
    assert c.n == 5 and len(c.diffs) == 5 and not c.lower_is_better
    assert c.mean_diff < 0 and c.verdict == "worse"  # RR は波形に届かない
    assert out["rr_linear_chance"].name_b == "当て推量"
    assert set(out) >= {"wf_rnn_linear", "rr_gru_linear", "rr_lstm_chance"}
    rows = ch.comparison_rows(out, ["rr_wf_linear"])
    assert rows[0]["判定(A は)"] == "悪い"


def test_forecast_comparisons_use_time_blocks():
    rng = np.random.default_rng(0)
    target = np.sin(np.arange(900) / 10)
    preds = {
        "線形 AR": target + rng.normal(0, 0.3, 900),
        "持続予測": target + rng.normal(0, 0.5, 900),
        "RNN": target + rng.normal(0, 0.1, 900),
        "LSTM": target + rng.normal(0, 0.3, 900),
        "GRU": target + rng.normal(0, 0.3, 900),
    }
    out = ch.forecast_comparisons(preds, target, fs=90.0, block_s=1.0)
    assert set(out) == {"rnn_ar", "lstm_ar", "gru_ar", "ar_persist"}
    assert out["rnn_ar"].n == 10 and out["rnn_ar"].diffs == ()
    assert out["rnn_ar"].verdict == "better"
    assert out["ar_persist"].verdict == "better"


def test_report_runs_with_tiny_settings(monkeypatch, capsys):
    fast = TrainConfig(epochs=1, batch_size=256, lr=1e-2)
    monkeypatch.setattr(
        ch, "CHAPTER_FORECAST", replace(ch.CHAPTER_FORECAST, train_stride=30)
    )
    monkeypatch.setattr(ch, "CHAPTER_FORECAST_TRAIN", fast)
    monkeypatch.setattr(ch, "CHAPTER_BEAT_TRAIN", fast)
    ch.report(seed=0, n_seeds=2)
    out = capsys.readouterr().out
    assert "課題 A" in out and "線形 AR" in out and "GRU − 線形 AR" in out
    assert "課題 B: 形が違う拍の検出(シード [0, 1])" in out
    assert "ロジスティック回帰(RR 間隔の系列) − 当て推量" in out
    ch.report(seed=3, n_seeds=0)  # 比較を省く
    out = capsys.readouterr().out
    assert "シード [3]" in out and "当て推量" not in out
    assert "GRU(拍の波形): バランス正解率" in out


def test_exercise_1_persistence_gets_worse_further_ahead(real_data):
    x = real_data[0]
    out = ch.exercise_1(x)
    assert sorted(out) == [1, 4, 8]
    assert out[1]["persist"] < out[4]["persist"] < out[8]["persist"]
    assert set(out[4]) == {"persist", "ar", "mean"}


def test_exercise_2_splits_targets_near_events():
    t_test = np.arange(0, 2, 0.1)
    pred = np.zeros_like(t_test)
    target = np.where(np.abs(t_test - 1.0) <= 0.15, 2.0, 0.5)
    near, far = ch.exercise_2(np.array([1.0]), t_test, pred, target)
    assert near == pytest.approx(2.0) and far == pytest.approx(0.5)


def test_exercise_3_higher_threshold_marks_more_beats(real_data):
    x, table = real_data[0], real_data[1]
    until = ch.CHAPTER_SPLIT.bounds(len(x))["train"][1]
    out = ch.exercise_3(x, table.peaks, until)
    assert out["070"] <= int(table.abnormal.sum()) <= out["090"]
    assert out["changed"] == out["090"] - out["070"]
