"""medrnn.ecg.tasks のテスト。

時間順の分割、波形予測の窓、拍の分類の入力・学習・指標。
"""

import numpy as np
import pytest
import torch

from medrnn.core.models.nets import ModelConfig
from medrnn.core.training import TrainConfig
from medrnn.ecg import record as ecg
from medrnn.ecg import tasks as ecg_tasks


@pytest.fixture(scope="module")
def record():
    x = ecg.load_ecg()
    peaks = ecg.detect_r_peaks(x)
    split = ecg_tasks.TimeSplit()
    table = ecg.label_beats(
        x, peaks, template_until=split.bounds(len(x))["train"][1]
    )
    return x, table


@pytest.fixture(scope="module")
def beat_data(record):
    x, table = record
    return ecg_tasks.prepare_beats(x, table)


# --- 時間順の分割 ------------------------------------------------------------


def test_time_split_bounds_are_contiguous_and_ordered():
    bounds = ecg_tasks.TimeSplit(train=0.7, val=0.1).bounds(1000)
    assert bounds == {
        "train": (0, 700),
        "val": (700, 800),
        "test": (800, 1000),
    }
    with pytest.raises(ValueError, match="train"):
        ecg_tasks.TimeSplit(train=0.9, val=0.2)
    with pytest.raises(ValueError, match="train"):
        ecg_tasks.TimeSplit(train=0.0)
    with pytest.raises(ValueError, match="空の区間"):
        ecg_tasks.TimeSplit().bounds(3)


# --- 波形予測 ----------------------------------------------------------------


def test_downsample_mean():
    np.testing.assert_allclose(
        ecg_tasks.downsample_mean(np.arange(10.0), 4), [1.5, 5.5]
    )
    with pytest.raises(ValueError, match="factor"):
        ecg_tasks.downsample_mean(np.arange(10.0), 0)
    with pytest.raises(ValueError, match="factor"):
        ecg_tasks.downsample_mean(np.zeros((2, 4)), 2)


def test_forecast_windows_stay_inside_their_segment():
    """課題 A の窓は共通の data.forecast_windows で、区間の中だけで作る。"""
    from medrnn.core.data import forecast_windows

    series = np.arange(100.0)
    X, target = forecast_windows(
        series, seq_len=5, horizon=3, start=20, stop=40, stride=2
    )
    assert X.shape == (len(target), 5)
    assert X.min() >= 20 and target.max() < 40  # 入力も正解も区間の中
    np.testing.assert_array_equal(target, X[:, -1] + 3)  # 最後の入力の 3 点先
    np.testing.assert_array_equal(np.diff(X[:, 0]), 2)
    assert target[-1] == 39  # 区間の最後の点まで使う
    with pytest.raises(ValueError, match="窓を作れません"):
        forecast_windows(series, 15, 10, start=0, stop=20)
    with pytest.raises(ValueError, match="start"):
        forecast_windows(series, 5, 1, start=50, stop=40)
    with pytest.raises(ValueError, match="horizon"):
        forecast_windows(series, 5, 0, start=0, stop=40)


def test_forecast_config_validation_and_units():
    config = ecg_tasks.WaveformConfig(factor=4, horizon=4)
    assert config.fs == 90.0
    assert config.horizon_ms == pytest.approx(44.444, abs=1e-3)
    with pytest.raises(ValueError, match="seq_len"):
        ecg_tasks.WaveformConfig(seq_len=0)


def test_prepare_forecast_has_no_window_across_a_boundary(record):
    x, _ = record
    config = ecg_tasks.WaveformConfig()
    data = ecg_tasks.prepare_waveform(x, config)
    assert len(data.series) == len(x) // config.factor
    for name, (start, stop) in data.bounds.items():
        first = data.target_index[name] - config.horizon - config.seq_len + 1
        assert first.min() >= start and data.target_index[name].max() < stop
        assert data.X[name].shape == (len(first), config.seq_len, 1)
        assert data.y[name].shape == (len(first), 1)
    # 標準化は訓練区間だけの統計量で
    train = data.series[slice(*data.bounds["train"])]
    assert data.scaler.mean[0] == pytest.approx(train.mean())
    np.testing.assert_allclose(
        data.to_mv(data.y["test"][:, 0].numpy()),
        data.targets_mv("test"),
        atol=1e-5,
    )


def test_forecast_baselines(record):
    x, _ = record
    data = ecg_tasks.prepare_waveform(x)
    baselines = ecg_tasks.forecast_baselines(data)
    target = data.targets_mv("test")
    assert set(baselines) == {"訓練平均", "持続予測", "線形 AR"}
    for pred in baselines.values():
        assert pred.shape == target.shape and np.all(np.isfinite(pred))
    # 持続予測 = 窓の最後の値
    last = data.target_index["test"] - ecg_tasks.WaveformConfig().horizon
    np.testing.assert_allclose(
        baselines["持続予測"], data.series[last], atol=1e-5
    )


def test_train_forecaster_smoke(record):
    """数秒で終わる学習: 損失が下がり、テストの RMSE が求まる。"""
    x, _ = record
    data = ecg_tasks.prepare_waveform(
        x[: 60 * ecg.ECG_FS], ecg_tasks.WaveformConfig(train_stride=6)
    )
    run = ecg_tasks.train_waveform_forecaster(
        ModelConfig(kind="gru", hidden_size=32),
        data,
        seed=0,
        train=TrainConfig(epochs=3, batch_size=64, lr=1e-2),
    )
    assert run.history.train_loss[-1] < run.history.train_loss[0]
    assert run.test_pred_mv.shape == data.targets_mv("test").shape
    assert np.isfinite(run.test_rmse_mv) and run.seconds < 30


def test_training_uses_the_given_device_and_returns_a_cpu_model(record):
    """device を渡すとそこで学習し、モデルは CPU・評価モードで返る。"""
    x, _ = record
    data = ecg_tasks.prepare_waveform(
        x[: 30 * ecg.ECG_FS], ecg_tasks.WaveformConfig(train_stride=6)
    )
    config = TrainConfig(epochs=1, batch_size=64, lr=1e-2)
    cpu = torch.device("cpu")
    rnn = ModelConfig(kind="rnn", hidden_size=8)
    run = ecg_tasks.train_waveform_forecaster(rnn, data, 0, config, cpu)
    again = ecg_tasks.train_waveform_forecaster(rnn, data, 0, config)
    assert all(p.device == cpu for p in run.model.parameters())
    assert not run.model.training
    # device を省くと configure_torch() のデバイス(CPU なら同じ結果)
    if not torch.cuda.is_available():
        np.testing.assert_array_equal(again.test_pred_mv, run.test_pred_mv)
    with pytest.raises(ValueError, match="両方"):
        ecg_tasks.weighted_bce(torch.zeros(4, 1))


def test_make_classifier_output_shapes():
    x = torch.randn(5, 12, 1)
    for kind in ("linear", "rnn", "lstm", "gru"):
        assert ecg_tasks.make_classifier(kind, seq_len=12)(x).shape == (5, 1)
    with pytest.raises(ValueError, match="kind"):
        ecg_tasks.make_classifier("cnn", seq_len=12)


def test_train_beat_classifier_smoke_and_determinism(beat_data):
    config = TrainConfig(epochs=3, batch_size=32, lr=1e-2)
    a = ecg_tasks.train_beat_classifier("gru", beat_data, "rr", 0, config)
    b = ecg_tasks.train_beat_classifier("gru", beat_data, "rr", 0, config)
    assert a.metrics == b.metrics  # 同じシードなら同じ結果
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(p, q)  # 学習済みの分類器も返す(信頼の章が使う)
    assert len(a.history.train_loss) == len(a.history.val_loss) == 3
    assert 0.0 <= a.metrics.balanced_accuracy <= 1.0 and a.seconds < 30
    linear = ecg_tasks.train_beat_classifier(
        "linear", beat_data, "waveform", 0, TrainConfig(epochs=10, lr=1e-2)
    )
    assert linear.metrics.balanced_accuracy > 0.9  # 規則を真似るのはやさしい


def test_beat_summary_rows(beat_data):
    config = TrainConfig(epochs=1, batch_size=64, lr=1e-2)
    runs = {
        ("rr", "linear"): [
            ecg_tasks.train_beat_classifier(
                "linear", beat_data, "rr", s, config
            )
            for s in (0, 1)
        ]
    }
    rows = ecg_tasks.beat_summary_rows(runs)
    assert rows[0]["入力"] == "RR 間隔の系列"
    assert "±" in rows[0]["バランス正解率"]
    with pytest.raises(ValueError, match="seeds"):
        ecg_tasks.compare_beat_classifiers(beat_data, [], config)


def test_prepare_beats_rejects_a_segment_with_one_class(record):
    x, table = record
    no_abnormal = ecg.BeatTable(
        **{**table.__dict__, "abnormal": np.zeros(len(table), bool)}
    )
    with pytest.raises(ValueError, match="1 種類"):
        ecg_tasks.prepare_beats(x, no_abnormal)


def test_beat_classifier_with_nan_validation_loss_says_so():
    """検証損失が一度も有限にならなければ、学習前の重みを黙って返さない。"""
    y = torch.tensor([[1.0], [0.0]] * 4)
    X = {
        "train": torch.randn(8, 5, 1),
        "val": torch.full((4, 5, 1), float("nan")),
        "test": torch.randn(4, 5, 1),
    }
    data = ecg_tasks.BeatData(
        index={g: np.arange(len(t)) for g, t in X.items()},
        X={"rr": X},
        y={"train": y, "val": y[:4], "test": y[:4]},
    )
    with pytest.raises(ValueError, match="NaN"):
        ecg_tasks.train_beat_classifier(
            "linear", data, "rr", 0, TrainConfig(epochs=2, batch_size=4)
        )
