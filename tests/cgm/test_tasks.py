"""medrnn.cgm.tasks のテスト。

患者単位の分割、途切れをまたがない窓、基準法、指標、学習。
"""

from dataclasses import fields, replace

import numpy as np
import pytest
import torch

from medrnn.cgm import tasks as cgm_tasks
from medrnn.cgm.data import SubjectCGM
from medrnn.chapters import cgm as cgm_chapter
from medrnn.core import training
from medrnn.core.data import forecast_windows
from medrnn.core.evaluation import LinearAR
from medrnn.core.training import TrainConfig


def _subject(sid, minutes, glucose, diagnosis="diabetic"):
    start = np.datetime64("2020-01-01T00:00:00")
    times = start + (np.asarray(minutes) * 60).astype("timedelta64[s]")
    return SubjectCGM(sid, diagnosis, times, np.asarray(glucose, dtype=float))


# --- 患者単位の分割 ----------------------------------------------------------


def test_no_patient_in_two_groups_and_everyone_used(hall, data):
    groups = {name: set(ids) for name, ids in data.groups.items()}
    assert not groups["train"] & groups["val"]
    assert not groups["train"] & groups["test"]
    assert not groups["val"] & groups["test"]
    assert set().union(*groups.values()) == {s.subject_id for s in hall}
    assert (len(groups["val"]), len(groups["test"])) == (3, 5)
    for name, ids in groups.items():  # 窓も自分の組の人からだけ作る
        assert set(data.windows[name].subject) <= ids


def test_split_keeps_diagnoses_in_every_group(hall):
    ids = [s.subject_id for s in hall]
    diagnoses = [s.diagnosis for s in hall]
    for seed in range(5):
        groups = cgm_tasks.split_patients(
            ids,
            diagnoses,
            cgm_tasks.PatientSplitConfig(n_val=3, n_test=5, seed=seed),
        )
        test_diag = [diagnoses[ids.index(i)] for i in groups["test"]]
        assert test_diag.count("diabetic") in (1, 2)  # 5 人中の 5/19 ≒ 1.3 人
        train_diag = {diagnoses[ids.index(i)] for i in groups["train"]}
        assert train_diag == {"diabetic", "pre-diabetic"}


def test_split_is_reproducible_and_depends_on_seed(hall):
    ids = [s.subject_id for s in hall]
    diagnoses = [s.diagnosis for s in hall]
    split = cgm_tasks.PatientSplitConfig(seed=3)
    assert cgm_tasks.split_patients(
        ids, diagnoses, split
    ) == cgm_tasks.split_patients(ids, diagnoses, split)
    assert (
        cgm_tasks.split_patients(ids, diagnoses, split)["test"]
        != cgm_tasks.split_patients(
            ids, diagnoses, cgm_tasks.PatientSplitConfig(seed=0)
        )["test"]
    )


@pytest.mark.parametrize(
    "ids, diagnoses, config, match",
    [
        (
            ["a", "b", "c"],
            ["x", "x", "x"],
            cgm_tasks.PatientSplitConfig(1, 2),
            "訓練が残りません",
        ),
        (
            ["a", "a", "b", "c"],
            ["x"] * 4,
            cgm_tasks.PatientSplitConfig(1, 1),
            "重複",
        ),
        (
            ["a", "b", "c", "d"],
            ["x"] * 3,
            cgm_tasks.PatientSplitConfig(1, 1),
            "同じ長さ",
        ),
    ],
)
def test_split_rejects_bad_input(ids, diagnoses, config, match):
    with pytest.raises(ValueError, match=match):
        cgm_tasks.split_patients(ids, diagnoses, config)


def test_patient_split_config_is_validated():
    with pytest.raises(ValueError, match="n_val"):
        cgm_tasks.PatientSplitConfig(n_val=0)


# --- 窓 ----------------------------------------------------------------------


def test_segment_windows_shapes_and_values():
    X, Y, ends = cgm_tasks.segment_windows(np.arange(10.0), 3, 2)
    assert X.shape == (6, 3) and Y.shape == (6, 2)
    np.testing.assert_array_equal(X[0], [0, 1, 2])
    np.testing.assert_array_equal(Y[0], [3, 4])
    np.testing.assert_array_equal(Y[-1], [8, 9])
    np.testing.assert_array_equal(ends, X[:, -1])  # 値 = 番号の系列
    X2, _, ends2 = cgm_tasks.segment_windows(np.arange(10.0), 3, 2, stride=4)
    np.testing.assert_array_equal(X2[:, 0], [0, 4])
    np.testing.assert_array_equal(ends2, [2, 6])
    # 短すぎる区間からは窓ができない(N = 0)
    X3, Y3, ends3 = cgm_tasks.segment_windows(np.arange(4.0), 3, 2)
    assert X3.shape == (0, 3) and Y3.shape == (0, 2) and len(ends3) == 0
    X4, Y4, _ = cgm_tasks.segment_windows(np.arange(2.0), 3, 2)
    assert X4.shape == (0, 3) and Y4.shape == (0, 2)


def test_segment_windows_match_the_core_forecast_windows():
    # 正解の最初の列は、本書の forecast_windows の 1 点先の正解と同じ
    g = np.random.default_rng(0).normal(100, 20, size=40)
    X, Y, ends = cgm_tasks.segment_windows(g, 6, 4, stride=3)
    X_core, target = forecast_windows(g, 6, horizon=4, stride=3)
    np.testing.assert_array_equal(X, X_core)
    np.testing.assert_array_equal(Y[:, -1], g[target])
    np.testing.assert_array_equal(Y[:, 0], g[ends + 1])


def test_segment_windows_rejects_bad_input():
    with pytest.raises(ValueError, match="seq_len"):
        cgm_tasks.segment_windows(np.arange(10.0), 0, 2)
    with pytest.raises(ValueError, match="1 次元"):
        cgm_tasks.segment_windows(np.zeros((3, 3)), 1, 1)


def test_windows_never_cross_a_gap():
    # 0〜9 回目と、1 時間の途切れのあとの 10〜19 回目。
    # 値 = 区間の番号 × 1000 + 番号
    minutes = np.concatenate([5 * np.arange(10), 5 * np.arange(10) + 105])
    glucose = np.concatenate([np.arange(10), 1000 + np.arange(10.0)])
    config = cgm_tasks.CGMForecastConfig(seq_len=4, n_ahead=2, train_stride=1)
    w = cgm_tasks.subject_windows([_subject("a", minutes, glucose)], config, 1)
    assert len(w.X) == 2 * (10 - 4 - 2 + 1)  # 区間ごとに 5 個、またぐ窓はない
    whole = np.concatenate([w.X, w.Y], axis=1)
    assert np.all((whole < 1000).all(axis=1) | (whole >= 1000).all(axis=1))
    np.testing.assert_array_equal(w.segment, [0] * 5 + [1] * 5)
    # 入力の最後の時刻が、入力の最後の値の測定時刻と一致する
    last_min = (w.last_time - w.last_time[0]).astype(float) / 60
    np.testing.assert_allclose(last_min[:5], 5 * np.arange(5))
    np.testing.assert_allclose(last_min[5], 105 + 15 - 15)


def test_chapter_windows_never_cross_a_gap(hall, data):
    by_id = {s.subject_id: s for s in hall}
    for w in data.windows.values():
        for i in range(0, len(w.X), 97):
            s = by_id[w.subject[i]]
            last = int(np.flatnonzero(s.times == w.last_time[i])[0])
            span = s.minutes[last - w.X.shape[1] + 1 : last + w.Y.shape[1] + 1]
            assert np.all(np.abs(np.diff(span) - 5) <= 1)
            np.testing.assert_array_equal(w.X[i, -1], s.glucose[last])


def test_no_windows_at_all_is_an_error():
    config = cgm_tasks.CGMForecastConfig(seq_len=24, n_ahead=12)
    with pytest.raises(ValueError, match="窓を 1 つも"):
        cgm_tasks.subject_windows(
            [_subject("a", 5 * np.arange(10), np.full(10, 100.0))], config, 1
        )


def test_prepared_data_shapes_and_scaling(data):
    seq_len = cgm_chapter.CHAPTER_FORECAST.seq_len
    n_ahead = cgm_chapter.CHAPTER_FORECAST.n_ahead
    for name in cgm_tasks.GROUPS:
        X, Y = data.inputs(name), data.targets(name)
        assert X.shape == (len(data.windows[name].X), seq_len, 1)
        assert Y.shape == (len(X), n_ahead)
        assert X.dtype == torch.float32
        np.testing.assert_allclose(
            data.to_mgdl(Y.numpy()), data.windows[name].Y, atol=1e-3
        )
    assert 80 < data.mean < 140 and 10 < data.std < 60  # mg/dL
    np.testing.assert_allclose(
        cgm_chapter.CHAPTER_FORECAST.horizons_min, 5 * np.arange(1, 13)
    )


def test_forecast_config_is_validated():
    with pytest.raises(ValueError, match="seq_len"):
        cgm_tasks.CGMForecastConfig(seq_len=0)
    with pytest.raises(ValueError, match="tolerance_min"):
        cgm_tasks.CGMForecastConfig(tolerance_min=5)


# --- 基準法 ------------------------------------------------------------------


def test_persistence_and_trend_on_a_straight_line():
    X = np.array([[100, 102, 104, 106, 108, 110, 112, 114.0]])
    np.testing.assert_array_equal(cgm_tasks.persistence(X, 3), [[114] * 3])
    np.testing.assert_allclose(
        cgm_tasks.trend_extrapolation(X, 3, n_recent=7), [[116, 118, 120]]
    )
    noisy = X + np.array([[0, 0, 0, 1, -1, 1, -1, 0]])
    trend = cgm_tasks.trend_extrapolation(noisy, 2, n_recent=4)
    assert trend.shape == (1, 2)
    with pytest.raises(ValueError, match="n_recent"):
        cgm_tasks.trend_extrapolation(X, 3, n_recent=9)


def test_baselines_shapes_and_linear_ar_beats_mean(data):
    preds = cgm_tasks.baseline_forecasts(data)
    target = data.windows["test"].Y
    for pred in preds.values():
        assert pred.shape == target.shape
    rmse_ar = cgm_tasks.errors_by_horizon(preds["線形 AR"], target)["rmse"]
    assert np.all(rmse_ar < target.std())  # 平均を答えるより良い
    assert np.all(np.diff(rmse_ar) > 0)  # 先ほど誤差が大きい


def test_linear_ar_matches_one_linear_ar_per_horizon(data):
    # まとめて解いた係数は、先ごとに evaluation.LinearAR で解いたものと同じ
    pred = cgm_tasks.linear_ar_forecast(data, "val")
    X, Y = data.inputs("train"), data.targets("train")
    for h in (0, 5, 11):
        single = LinearAR.fit(X, Y[:, [h]]).predict(data.inputs("val"))
        np.testing.assert_allclose(pred[:, h], data.to_mgdl(single), atol=1e-6)


# --- 指標 --------------------------------------------------------------------


def test_errors_by_horizon_on_a_tiny_example():
    pred = np.array([[100, 110], [120, 100.0]])
    target = np.array([[103, 110], [116, 110.0]])
    e = cgm_tasks.errors_by_horizon(pred, target)
    np.testing.assert_allclose(e["rmse"], [np.sqrt((9 + 16) / 2), np.sqrt(50)])
    np.testing.assert_allclose(e["mae"], [3.5, 5.0])
    with pytest.raises(ValueError, match="形状が違います"):
        cgm_tasks.errors_by_horizon(pred, target[:, :1])
    with pytest.raises(ValueError, match="形状 \\(N, n_ahead\\)"):
        cgm_tasks.errors_by_horizon(pred[:, 0], target[:, 0])


def test_hypo_alerts_counts_readings_events_and_false_alerts():
    actual = np.array([100, 65, 60, 90, 90, 90, 100, 68, 100, 100.0])
    pred = np.array([100, 90, 65, 90, 60, 62, 100, 100, 100, 66.0])
    segment = np.array([0] * 8 + [1] * 2)
    res = cgm_tasks.hypo_alerts(pred, actual, segment)
    assert (res.n_low, res.n_low_alerted) == (3, 1)
    assert res.sensitivity == pytest.approx(1 / 3)
    assert (res.n_events, res.n_events_alerted) == (2, 1)
    assert (res.n_alerts, res.n_false_alerts) == (3, 2)  # 4〜5 番と 9 番は誤り
    assert res.n_hours == pytest.approx(10 * 5 / 60)
    assert res.false_alerts_per_day == pytest.approx(2 / (50 / 60 / 24))


def test_hypo_alert_runs_are_cut_at_segment_boundaries():
    pred = np.array([60, 60, 60, 60.0])
    actual = np.array([60, 100, 100, 100.0])
    res = cgm_tasks.hypo_alerts(pred, actual, np.array([0, 0, 1, 1]))
    assert (res.n_alerts, res.n_false_alerts) == (2, 1)
    with pytest.raises(ValueError, match="同じ長さ"):
        cgm_tasks.hypo_alerts(pred, actual[:3], np.zeros(4))


@pytest.mark.parametrize(
    "reference, predicted, zone",
    [
        (100, 100, "A"),
        (100, 119, "A"),
        (50, 65, "A"),
        (50, 20, "A"),
        (300, 250, "A"),
        (100, 125, "B"),
        (200, 150, "B"),
        (300, 200, "B"),
        (150, 60, "B"),
        (100, 220, "C"),
        (150, 20, "C"),
        (280, 395, "C"),
        (50, 100, "D"),
        (65, 160, "D"),
        (300, 150, "D"),
        (250, 80, "D"),
        (50, 250, "E"),
        (60, 190, "E"),
        (250, 60, "E"),
        (200, 40, "E"),
    ],
)
def test_clarke_zones_known_points(reference, predicted, zone):
    zones = cgm_tasks.clarke_zones(
        np.array([reference]), np.array([predicted])
    )
    assert zones.tolist() == [zone]


def test_clarke_zone_percentages():
    zones = cgm_tasks.clarke_zones(
        np.array([100, 100, 50, 250.0]), np.array([100, 125, 250, 60.0])
    )
    pct = cgm_tasks.zone_percentages(zones)
    assert pct == {"A": 25.0, "B": 25.0, "C": 0.0, "D": 0.0, "E": 50.0}
    with pytest.raises(ValueError, match="同じ長さ"):
        cgm_tasks.clarke_zones(np.zeros(2), np.zeros(3))


# --- 学習(数秒) --------------------------------------------------------------


def _first_windows(data, n):
    """各組の最初の n 窓だけにした CGMData(標準化の値はそのまま)。"""
    windows = {
        name: replace(w, **{f.name: getattr(w, f.name)[:n] for f in fields(w)})
        for name, w in data.windows.items()
    }
    return replace(data, windows=windows)


def test_smoke_training_learns_and_reports_mgdl(data):
    small = _first_windows(data, 400)
    run = cgm_tasks.train_cgm_forecaster(
        "gru",
        small,
        seed=0,
        train=TrainConfig(epochs=4, batch_size=64, lr=1e-2),
        hidden_size=8,
    )
    assert run.test_pred.shape == small.windows["test"].Y.shape
    assert run.history.train_loss[-1] < run.history.train_loss[0]
    err = cgm_tasks.errors_by_horizon(run.test_pred, small.windows["test"].Y)
    assert np.all(err["rmse"] < 60)  # mg/dL(標準化したままなら 1 前後)
    rows = cgm_tasks.summary_rows(
        {"持続予測": cgm_tasks.persistence(small.windows["test"].X, 12)},
        {"GRU": [run, run]},
        small.windows["test"].Y,
    )
    assert list(rows[1]) == [
        "方法",
        "RMSE 30 分",
        "MAE 30 分",
        "RMSE 60 分",
        "MAE 60 分",
    ]
    assert "±" in rows[1]["RMSE 30 分"] and "±" not in rows[0]["RMSE 30 分"]


def test_rmse_by_horizon_and_alert_rows(data):
    target = data.windows["test"].Y
    baselines = {"持続予測": cgm_tasks.persistence(data.windows["test"].X, 12)}
    fake = [
        cgm_tasks.CGMRun(None, None, target + 1.0, 0.0),
        cgm_tasks.CGMRun(None, None, target + 3.0, 0.0),
    ]
    means, spreads = cgm_tasks.rmse_by_horizon(
        baselines, {"GRU": fake}, target
    )
    np.testing.assert_allclose(means["GRU"], np.full(12, 2.0))
    np.testing.assert_allclose(spreads["GRU"], np.full(12, np.sqrt(2)))
    assert "持続予測" not in spreads and means["持続予測"].shape == (12,)
    rows = cgm_tasks.alert_rows(
        {**baselines, "完全": target},
        target,
        data.windows["test"].segment,
        step=6,
    )
    assert rows[1]["感度(時点)"] == "1.00"
    assert rows[1]["誤警報 [回/日]"] == "0.00"


def test_target_hours_are_last_input_time_plus_horizon():
    minutes = 5 * np.arange(30)
    config = cgm_tasks.CGMForecastConfig(seq_len=4, n_ahead=2)
    w = cgm_tasks.subject_windows(
        [_subject("a", minutes, 100 + minutes)], config, 1
    )
    start = np.datetime64("2020-01-01T00:00:00")
    hours = cgm_tasks.target_hours(w, start, step=2)
    np.testing.assert_allclose(hours[0], (15 + 10) / 60)
    # 予測の対象の時刻の実測値が、正解 Y と一致する
    np.testing.assert_allclose(100 + hours * 60, w.Y[:, 1])


def test_common_windows_pairs_the_same_targets(hall):
    short = cgm_tasks.subject_windows(
        hall[:2], cgm_tasks.CGMForecastConfig(seq_len=12), stride=1
    )
    long = cgm_tasks.subject_windows(
        hall[:2], cgm_tasks.CGMForecastConfig(seq_len=48), stride=1
    )
    i_long, i_short = cgm_tasks.common_windows(long, short)
    assert len(i_long) == len(long.X) < len(short.X)  # 長い入力の窓は全部共通
    np.testing.assert_array_equal(long.Y[i_long], short.Y[i_short])
    np.testing.assert_array_equal(long.X[i_long, -12:], short.X[i_short])
    other = cgm_tasks.subject_windows(
        hall[2:3], cgm_tasks.CGMForecastConfig(seq_len=12), stride=1
    )
    with pytest.raises(ValueError, match="共通する窓"):
        cgm_tasks.common_windows(other, short)


def test_training_uses_the_device_from_configure_torch(data, monkeypatch):
    calls = []

    def fake_configure_torch():
        calls.append(1)
        return torch.device("cpu")

    # 学習は training.train_and_predict が行い、そこでデバイスを決める
    monkeypatch.setattr(training, "configure_torch", fake_configure_torch)
    small = _first_windows(data, 64)
    run = cgm_tasks.train_cgm_forecaster(
        "rnn",
        small,
        seed=0,
        train=TrainConfig(epochs=1, batch_size=64),
        hidden_size=4,
    )
    assert calls and run.test_pred.shape == (64, 12)
    assert next(run.model.parameters()).device.type == "cpu"
