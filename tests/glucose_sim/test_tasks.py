"""glucose_sim_tasks(多変量の窓・患者単位の分割・単純な方法・学習)のテスト。"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from medrnn.core.evaluation import LinearAR
from medrnn.core.training import TrainConfig
from medrnn.glucose_sim import tasks

SPLIT = tasks.PatientSplit(
    train=("adult#001", "adult#002"), val=("adult#003",), test=("adult#004",)
)


@pytest.fixture(scope="module")
def cohort() -> tasks.Cohort:
    return tasks.simulate_cohort(tasks.CohortConfig(n_days=1, seed=3))


def test_cohort_shapes_and_units(cohort: tasks.Cohort) -> None:
    n = 1440 // 5 + 1
    assert cohort.names[0] == "adult#001" and len(cohort.names) == 10
    for arr in (cohort.glucose, cohort.cgm, cohort.carbs, cohort.insulin):
        assert arr.shape == (10, n)
    assert cohort.features().shape == (10, n, 3)
    assert 30 < cohort.glucose.min() and cohort.glucose.max() < 400  # mg/dL
    # 5 分ごとの合計は、1 分ごとの食事の合計と同じ(取りこぼしがない)
    np.testing.assert_allclose(
        cohort.carbs.sum(axis=1), cohort.meals_g.sum(axis=1)
    )
    assert np.all(cohort.insulin > 0)  # 基礎インスリンが常に入る [U/5 分]


def test_cohort_is_deterministic() -> None:
    config = tasks.CohortConfig(n_days=1, seed=7)
    a, b = tasks.simulate_cohort(config), tasks.simulate_cohort(config)
    np.testing.assert_array_equal(a.cgm, b.cgm)
    np.testing.assert_array_equal(a.meals_g, b.meals_g)


def test_patient_windows_come_from_forecast_windows() -> None:
    from medrnn.core.data import forecast_windows

    z = np.arange(60, dtype=np.float64).reshape(2, 10, 3)  # (P, n, 3)
    config = tasks.SimForecastConfig(seq_len=4, horizon=2, inputs="multi")
    windows, index, patient = tasks.patient_windows(z, [1, 0], config, 2)
    assert windows.shape == (6, 4, 3) and windows.dtype == np.float32
    np.testing.assert_array_equal(index, [5, 7, 9, 5, 7, 9])
    np.testing.assert_array_equal(patient, [1, 1, 1, 0, 0, 0])
    X, target = forecast_windows(z[1], seq_len=4, horizon=2, stride=2)
    np.testing.assert_array_equal(windows[:3], X)
    np.testing.assert_array_equal(windows[0], z[1, :4])  # 患者 1 の最初の窓
    np.testing.assert_array_equal(target, index[:3])
    glucose = tasks.SimForecastConfig(seq_len=4, horizon=2, inputs="glucose")
    only, _, _ = tasks.patient_windows(z, [0], glucose, 1)
    assert only.shape == (5, 4, 1)  # 血糖のチャネルだけ
    np.testing.assert_array_equal(only[0, :, 0], z[0, :4, 0])
    with pytest.raises(ValueError, match="窓を作れません"):
        tasks.patient_windows(z, [0], tasks.SimForecastConfig(seq_len=9), 1)


def test_split_has_no_shared_patient(cohort: tasks.Cohort) -> None:
    with pytest.raises(ValueError, match="2 つの区間"):
        tasks.PatientSplit(
            train=("adult#001",), val=("adult#001",), test=("adult#002",)
        )
    with pytest.raises(ValueError, match="いない患者"):
        tasks.PatientSplit(
            train=("child#001",), val=("adult#001",), test=("adult#002",)
        ).rows(cohort.names)
    data = tasks.prepare_sim_forecast(cohort, SPLIT, tasks.SimForecastConfig())
    seen = {seg: set(data.rows[seg]) for seg in tasks.SEGMENTS}
    assert seen["train"] == {0, 1} and seen["val"] == {2}
    assert seen["test"] == {3}


def test_prepare_forecast_uses_train_statistics(cohort: tasks.Cohort) -> None:
    config = tasks.SimForecastConfig(seq_len=12, horizon=6, inputs="multi")
    data = tasks.prepare_sim_forecast(cohort, SPLIT, config)
    train_features = cohort.features()[[0, 1]].reshape(-1, 3)
    np.testing.assert_allclose(data.scaler.mean, train_features.mean(axis=0))
    assert data.X["train"].shape[1:] == (12, 3)
    # 変化 0 を予測すると持続予測になり、正解に戻すと CGM 値に一致する
    np.testing.assert_allclose(
        data.to_mg(np.zeros(len(data.y["test"])), "test"), data.last_mg["test"]
    )
    back = data.to_mg(data.y["test"][:, 0].numpy(), "test")
    np.testing.assert_allclose(back, data.target_mg["test"], atol=1e-3)
    strided = tasks.prepare_sim_forecast(
        cohort, SPLIT, tasks.SimForecastConfig(12, 6, "multi", train_stride=2)
    )
    per_patient = len(data.X["train"]) // 2  # 訓練の 2 人は同じ長さ
    assert len(strided.X["train"]) == 2 * ((per_patient + 1) // 2)
    torch.testing.assert_close(
        strided.X["test"], data.X["test"]
    )  # テストは全部
    glucose_only = tasks.prepare_sim_forecast(
        cohort, SPLIT, tasks.SimForecastConfig(12, 6, "glucose")
    )
    assert glucose_only.X["train"].shape[2] == 1
    torch.testing.assert_close(
        glucose_only.X["test"][..., 0], data.X["test"][..., 0]
    )


def test_recurrent_features_rescale_and_add_step(cohort: tasks.Cohort) -> None:
    data = tasks.prepare_sim_forecast(
        cohort, SPLIT, tasks.SimForecastConfig(12, 6, "multi")
    )
    feats = tasks.recurrent_features(data)
    assert set(feats) == set(tasks.SEGMENTS)
    for seg in tasks.SEGMENTS:
        assert feats[seg].shape == (len(data.X[seg]), 12, 4)
        torch.testing.assert_close(feats[seg][..., 0], data.X[seg][..., 0])
        assert torch.all(feats[seg][:, 0, 3] == 0)  # 窓の最初の点の変化は 0
    # 炭水化物とインスリンは元の単位 / 訓練の最大値: 訓練では 0〜1
    events = feats["train"][..., 1:3]
    assert float(events.min()) >= 0.0
    torch.testing.assert_close(events.amax(dim=(0, 1)), torch.ones(2))
    assert float(data.X["train"][..., 1:].max()) > 5  # 標準化だけだと大きい
    # 変化のチャネルは訓練の窓で標準偏差 1 程度、CGM の差に比例する
    step = feats["train"][:, 1:, 3]
    diff = data.X["train"][:, 1:, 0] - data.X["train"][:, :-1, 0]
    ratio = float((step * diff).sum() / (diff * diff).sum())
    torch.testing.assert_close(step, diff * ratio)
    assert 0.8 < float(step.std()) < 1.2
    glucose = tasks.prepare_sim_forecast(
        cohort, SPLIT, tasks.SimForecastConfig(12, 6, "glucose")
    )
    assert tasks.recurrent_features(glucose)["test"].shape[2] == 2


def test_linear_forecaster_recovers_coefficients() -> None:
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(200, 3, 2, generator=gen)
    coef = torch.arange(6, dtype=torch.float32) / 10
    y = (X.flatten(1) @ coef + 0.5).unsqueeze(-1)
    model = LinearAR.fit(X, y)
    np.testing.assert_allclose(model.coef, coef.numpy(), atol=1e-5)
    assert model.intercept == pytest.approx(0.5, abs=1e-5)
    with pytest.raises(ValueError, match="解けません"):
        LinearAR.fit(X[:5], y[:5])


def test_training_smoke_and_baselines(cohort: tasks.Cohort) -> None:
    data = tasks.prepare_sim_forecast(cohort, SPLIT, tasks.SimForecastConfig())
    base = tasks.baseline_predictions(data)
    assert set(base) == {"持続予測", "線形"}
    training = tasks.SimTraining(
        "gru", TrainConfig(epochs=2, batch_size=128, lr=1e-2), hidden_size=8
    )
    run = tasks.train_sim_forecaster(data, 0, training)
    for seg, pred in (
        ("train", run.train_pred_mg),
        ("val", run.val_pred_mg),
        ("test", run.test_pred_mg),
    ):
        assert pred.shape == data.target_mg[seg].shape
        assert np.all(np.isfinite(pred))
    assert run.history.train_loss[-1] < run.history.train_loss[0] * 1.5
    assert run.model.recurrent.input_size == 4  # 変化のチャネルを足した入力
    raw = tasks.train_sim_forecaster(data, 0, training, rescale=False)
    assert raw.model.recurrent.input_size == 3


def test_forecaster_is_train_and_predict_in_mg(cohort: tasks.Cohort) -> None:
    from medrnn.core.models.nets import ModelConfig, RecurrentRegressor
    from medrnn.core.training import train_and_predict

    data = tasks.prepare_sim_forecast(
        cohort, SPLIT, tasks.SimForecastConfig(seq_len=12, train_stride=4)
    )
    training = tasks.SimTraining(
        "lstm", TrainConfig(epochs=2, batch_size=128), hidden_size=4
    )
    run = tasks.train_sim_forecaster(data, 5, training, rescale=False)
    config = ModelConfig(kind="lstm", input_size=3, hidden_size=4)
    ref = train_and_predict(
        lambda: RecurrentRegressor(config),
        data.X,
        data.y,
        5,
        training.train,
        patience=training.patience,
        predict_on=tasks.SEGMENTS,
        device=torch.device("cpu"),
    )
    for seg in tasks.SEGMENTS:
        np.testing.assert_array_equal(
            getattr(run, f"{seg}_pred_mg"), data.to_mg(ref.pred[seg], seg)
        )
    assert run.history.val_loss == ref.history.val_loss


def test_meal_offsets_and_bins(cohort: tasks.Cohort) -> None:
    rows = np.zeros(3, dtype=np.int64)
    meal_min = int(np.flatnonzero(cohort.meals_g[0])[0])
    origin = np.array([meal_min - 10, meal_min, meal_min + 30]) // 5
    offsets = tasks.minutes_from_meal(cohort, rows, origin)
    np.testing.assert_allclose(offsets, origin * 5 - meal_min)
    out = tasks.rmse_by_bin(
        np.array([-5.0, 5.0, 6.0]),
        np.array([1.0, 3.0, 4.0]),
        np.array([-10, 0, 10, 20]),
    )
    np.testing.assert_allclose(out[:2], [1.0, np.sqrt(12.5)])
    assert np.isnan(out[2])  # 空の区間は NaN
    rows = np.array([[1.0, 3.0, 4.0], [2.0, 0.0, 0.0]])  # 2 回の学習
    both = tasks.rmse_by_bin(np.array([-5.0, 5.0, 6.0]), rows, [-10, 0, 10])
    np.testing.assert_array_equal(both[0], out[:2])
    np.testing.assert_allclose(both[1], [2.0, 0.0])
    with pytest.raises(ValueError, match="形状"):
        tasks.mae(np.zeros(2), np.zeros(3))


def test_bad_configs_raise() -> None:
    with pytest.raises(ValueError, match="group"):
        tasks.CohortConfig(group="elderly")
    with pytest.raises(ValueError, match="n_days"):
        tasks.CohortConfig(n_days=0)
    with pytest.raises(ValueError, match="inputs"):
        tasks.SimForecastConfig(inputs="insulin")
    with pytest.raises(ValueError, match="seq_len"):
        tasks.SimForecastConfig(seq_len=0)


def test_horizon_rmse_shapes(cohort: tasks.Cohort) -> None:
    config = tasks.SimForecastConfig(seq_len=12)
    by_h = {
        h: tasks.baseline_errors(cohort, SPLIT, replace(config, horizon=h))
        for h in (3, 6)
    }
    out = tasks.horizon_rmse_table(by_h)
    assert list(out) == [
        "持続予測",
        "線形・血糖のみ",
        "線形・血糖 + 食事 + インスリン",
    ]
    for values in out.values():
        assert values.shape == (2,) and np.all(values > 0)
    assert out["持続予測"][1] > out["持続予測"][0]  # 遠い先ほど外れる
    for k, h in enumerate((3, 6)):
        errors, groups = by_h[h]
        assert list(errors) == list(out)
        assert all(e.shape == groups.shape for e in errors.values())
        assert set(groups) == {3}  # テストの患者の行だけ
        rmse = np.sqrt(np.mean(errors["持続予測"] ** 2))
        assert out["持続予測"][k] == rmse
    # 予測先 h の結果は、その予測先の設定で窓を作った持続予測と同じ
    data = tasks.prepare_sim_forecast(
        cohort, SPLIT, tasks.SimForecastConfig(seq_len=12, horizon=3)
    )
    np.testing.assert_array_equal(
        by_h[3][0]["持続予測"],
        data.last_mg["test"] - data.target_mg["test"],
    )


def test_training_uses_the_given_device(cohort: tasks.Cohort) -> None:
    data = tasks.prepare_sim_forecast(cohort, SPLIT, tasks.SimForecastConfig())
    device = torch.device("cpu")
    training = tasks.SimTraining(
        train=TrainConfig(epochs=1, batch_size=256),
        hidden_size=4,
        device=device,
    )
    run = tasks.train_sim_forecaster(data, 0, training)
    assert next(run.model.parameters()).device == device
    assert isinstance(run.test_pred_mg, np.ndarray)
