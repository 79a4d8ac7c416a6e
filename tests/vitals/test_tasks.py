"""medrnn.vitals.tasks: 窓と区間、標準化、欠測つきの窓、
短い学習のスモークテスト。
"""

import numpy as np
import pytest
import torch

from medrnn.core.evaluation import LinearAR
from medrnn.core.training import TrainConfig
from medrnn.vitals import tasks as vt
from medrnn.vitals.data import VitalSeries


def toy_series(n: int = 400) -> VitalSeries:
    t = (np.arange(n) + 1) * 0.5
    rng = np.random.default_rng(0)
    hr = 70 + 5 * np.sin(t / 5) + rng.normal(0, 0.5, n)
    resp = np.sin(t * 1.5)
    eda = 10 + 0.01 * t
    return VitalSeries(t, np.column_stack([hr, resp, eda]), 0.5)


CONFIG = vt.VitalsForecastConfig(seq_len=8, horizon=2, train_stride=1)
FAST = TrainConfig(epochs=3, batch_size=64, lr=1e-2)


def test_window_ends_come_from_the_core_and_stay_inside_segment():
    from medrnn.core.data import window_ends

    bounds = {"train": (10, 50), "val": (50, 54)}
    known = np.ones(60, dtype=bool)
    known[20] = False  # 正解が分からない時刻
    config = vt.VitalsForecastConfig(seq_len=5, horizon=3, train_stride=2)
    ends = vt.known_window_ends("train", bounds, known, config)
    every = window_ends(10, 50, seq_len=5, horizon=3, stride=2)
    np.testing.assert_array_equal(ends, every[every + 3 != 20])
    assert ends[0] - 4 == 10 and ends[-1] + 3 < 50
    with pytest.raises(ValueError, match="窓を作れません"):
        vt.known_window_ends("val", bounds, known, config)


def test_prepare_windows_shapes_and_no_cross_segment_windows():
    s = toy_series()
    data = vt.prepare_windows(s, CONFIG, (0, 1, 2))
    bounds = CONFIG.split.bounds(len(s))
    for name, (start, stop) in bounds.items():
        e = data.ends[name]
        assert data.X[name].shape == (len(e), 8, 3)
        assert e.min() - 7 >= start and e.max() + 2 < stop
    np.testing.assert_allclose(
        data.target_bpm("test"), s.values[data.ends["test"] + 2, 0], rtol=1e-5
    )
    # 標準化は訓練区間だけ: 訓練の入力の平均は 0 に近い
    assert abs(float(data.X["train"][..., 0].mean())) < 0.2


def test_standardize_uses_only_observed_training_values():
    values = np.array([[1.0], [3.0], [100.0], [5.0]])
    mask = np.array([[True], [True], [False], [True]])
    z, mean, std = vt.standardize_observed(values, mask, train_stop=3)
    assert mean[0] == 2.0 and std[0] == 1.0
    assert np.isnan(z[2, 0]) and z[3, 0] == 3.0


def test_missing_windows_drop_unknown_targets_and_add_features():
    s = toy_series()
    mask = vt.MissingConfig("mcar", 0.5).make_mask(s.values.shape, 0.5, seed=0)
    data = vt.prepare_windows(s, CONFIG, (0, 1, 2), mask, "mask_delta")
    assert data.X["train"].shape[-1] == 9  # 値・マスク・経過時間 × 3
    for e in data.ends.values():
        assert mask[e + CONFIG.horizon, 0].all()
    assert torch.isfinite(data.X["test"]).all()


def test_linear_forecaster_recovers_linear_rule():
    X = torch.randn(200, 4, 2)
    y = (2 * X[:, -1, 0] - X[:, 0, 1] + 0.5)[:, None]
    model = LinearAR.fit(X, y, ridge=0.0)
    np.testing.assert_allclose(model.predict(X), y[:, 0].numpy(), atol=1e-4)


def test_smoke_training_and_sweep():
    s = toy_series()
    data = vt.prepare_windows(s, CONFIG, (0,))
    run = vt.train_model(
        "gru", data, seed=0, train=FAST, hidden_size=4, patience=6
    )
    assert run.test_pred_bpm.shape == data.target_bpm("test").shape
    assert np.isfinite(run.test_rmse_bpm) and 1 <= run.epochs <= 3
    assert np.isfinite(run.val_rmse_bpm) and 1 <= run.best_epoch <= run.epochs
    linear = vt.train_model(
        "linear", data, seed=0, train=FAST, hidden_size=4, patience=6
    )
    assert linear.epochs == linear.best_epoch == 0
    # 検証 RMSE は検証区間の正解で測っている
    np.testing.assert_allclose(
        linear.val_rmse_bpm,
        vt.rmse_bpm(
            data,
            LinearAR.fit(
                data.X["train"], data.y["train"], ridge=vt.LINEAR_RIDGE
            ).predict(data.X["val"]),
            "val",
        ),
    )
    study = vt.Study(CONFIG, ("linear",), (0, 1), FAST, patience=6)
    sweep = vt.missing_sweep(
        s,
        study,
        (vt.MissingConfig("block", 0.3, 2.0),),
        ("locf", "mask_delta"),
    )
    assert len(sweep) == 3  # 2 つの埋め方 + 持続予測
    assert all(len(v) == 2 for v in sweep.values())
    rows = vt.sweep_rows(sweep, "linear")
    assert rows[0]["欠測"] == "塊 30%"
    assert " ± " in rows[0][vt.STRATEGIES["locf"]]  # 2 シードの平均 ± SD
    spot = vt.spot_check_sweep(s, study, 5.0, ("locf", "leaky"))
    assert set(spot) == {
        ("locf", "persist"),
        ("locf", "linear"),
        ("leaky", "linear"),
    }
    assert all(len(v) == 2 for v in spot.values())
    assert len(vt.spot_rows(spot)) == 3  # 持続予測 + 2 つの埋め方


def test_train_model_is_train_and_predict_in_bpm():
    from medrnn.core.models.nets import ModelConfig, RecurrentRegressor
    from medrnn.core.training import train_and_predict

    data = vt.prepare_windows(toy_series(), CONFIG, (0, 1))
    run = vt.train_model("gru", data, 3, FAST, hidden_size=4, patience=2)
    config = ModelConfig(kind="gru", input_size=2, hidden_size=4)
    ref = train_and_predict(
        lambda: RecurrentRegressor(config),
        data.X,
        data.y,
        3,
        FAST,
        patience=2,
        predict_on=("test", "val"),
        device=torch.device("cpu"),
    )
    np.testing.assert_array_equal(
        run.test_pred_bpm, data.to_bpm(ref.pred["test"])
    )
    assert run.val_rmse_bpm == vt.rmse_bpm(data, ref.pred["val"], "val")
    assert run.epochs == len(ref.history.val_loss)


def test_input_rows_print_mean_only_for_one_run():
    one = vt.FitResult(1.234, np.zeros(2), 0, 0.5)
    two = [vt.FitResult(v, np.zeros(2), 3, 1.0) for v in (1.0, 2.0)]
    rows = vt.input_rows({("uni", "linear"): [one], ("uni", "gru"): two}, 3.0)
    assert [r["RMSE [bpm]"] for r in rows] == ["3.00", "1.23", "1.50 ± 0.71"]


def test_patience_stops_training_and_is_passed_through():
    s = toy_series()
    data = vt.prepare_windows(s, CONFIG, (0,))
    long = TrainConfig(epochs=40, batch_size=64, lr=0.5)  # 大きすぎる学習率
    run = vt.train_model(
        "rnn", data, seed=0, train=long, hidden_size=4, patience=1
    )
    assert run.epochs == run.best_epoch + 1 < 40  # 1 回改善しなければ止まる


def test_validation_grid_reports_only_validation_numbers():
    s = toy_series()
    candidates = (
        (FAST, 1),
        (TrainConfig(epochs=2, batch_size=32, lr=1e-2), 2),
    )
    study = vt.Study(CONFIG, ("rnn",), (0,), FAST, patience=99)
    rows = vt.validation_grid(s, study, candidates)
    assert [r["我慢"] for r in rows] == ["1", "2"]
    assert set(rows[0]) == {
        "学習率",
        "バッチ",
        "最大エポック",
        "我慢",
        "心拍数だけ RNN",
        "心拍数 + 呼吸 + EDA RNN",
        "平均",
        "学習 [s]",
    }
    assert all(np.isfinite(float(r["平均"])) for r in rows)


def test_windows_and_model_follow_the_requested_device():
    s = toy_series()
    data = vt.prepare_windows(s, CONFIG, (0, 1, 2), device="meta")
    assert all(x.device.type == "meta" for x in data.X.values())
    cpu = vt.prepare_windows(s, CONFIG, (0, 1, 2), device=torch.device("cpu"))
    run = vt.train_model(
        "lstm", cpu, seed=0, train=FAST, hidden_size=4, patience=2
    )
    assert np.isfinite(run.test_rmse_bpm)
    np.testing.assert_allclose(
        vt.persistence_pred(cpu), cpu.X["test"][:, -1, 0].numpy(), rtol=1e-6
    )


def test_linear_ridge_is_an_argument_not_a_global():
    s = toy_series()
    data = vt.prepare_windows(s, CONFIG, (0, 1, 2))
    weak = vt.train_model("linear", data, 0, FAST, 4, 1, ridge=0.0)
    strong = vt.train_model("linear", data, 0, FAST, 4, 1, ridge=10.0)
    assert weak.val_rmse_bpm != strong.val_rmse_bpm


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: vt.VitalsForecastConfig(seq_len=0), "seq_len"),
        (lambda: vt.MissingConfig("mnar", 0.1), "pattern"),
        (lambda: vt.MissingConfig("mcar", 1.0), "rate"),
    ],
)
def test_bad_config_raises_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_sweep_rows_skip_settings_without_that_model():
    mcar, block = vt.MissingConfig("mcar", 0.5), vt.MissingConfig("block", 0.5)
    sweep = {
        (mcar, "locf", "lstm"): [1.0, 2.0],
        (mcar, "locf", "linear"): [1.5, 2.5],
        (block, "locf", "linear"): [3.0, 3.0],
    }
    assert [r["欠測"] for r in vt.sweep_rows(sweep, "lstm")] == [
        "ランダム 50%"
    ]
    assert len(vt.sweep_rows(sweep, "linear")) == 2


def test_missing_masks_follow_the_seed_offset(monkeypatch):
    setting = vt.MissingConfig("mcar", 0.5)
    base = setting.make_mask((50, 3), 0.5, seed=0)
    monkeypatch.setenv("MEDRNN_SEED_OFFSET", "100")
    moved = setting.make_mask((50, 3), 0.5, seed=0)
    assert not np.array_equal(base, moved)  # 別のシードなら別の欠測
