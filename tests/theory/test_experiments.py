from dataclasses import replace

import numpy as np
import pytest

from medrnn.core.models.nets import ModelConfig
from medrnn.core.training import TrainConfig
from medrnn.theory.experiments import (
    LSTM_RECIPE,
    RNN_RECIPE,
    baseline_mses,
    compare_over_seeds,
    prepare_data,
    train_recipe,
)

TINY = replace(RNN_RECIPE, train=TrainConfig(epochs=3, batch_size=16))


def test_prepare_data_matches_the_recipes():
    rnn = prepare_data(RNN_RECIPE)
    assert rnn.X_train.shape == (150, 10, 1) and rnn.X_test.shape == (
        30,
        10,
        1,
    )
    assert rnn.n_train == 160
    lstm = prepare_data(LSTM_RECIPE)
    assert lstm.X_train.shape == (790, 10, 1) and lstm.X_test.shape == (
        190,
        10,
        1,
    )
    assert len(lstm.t_test_targets) == 190
    # テストの正解は時系列のテスト部分の 11 点目以降
    np.testing.assert_array_equal(lstm.y_test[:, 0].numpy(), lstm.series[810:])


def test_train_recipe_is_reproducible():
    data = prepare_data(TINY)
    a, b = train_recipe(TINY, data, seed=0), train_recipe(TINY, data, seed=0)
    assert a.test_mse == b.test_mse
    assert a.test_pred.shape == (30,)
    assert train_recipe(TINY, data, seed=1).test_mse != a.test_mse


def test_baselines_are_sensible_on_the_sine():
    data = prepare_data(LSTM_RECIPE)
    base = baseline_mses(data)
    floor = LSTM_RECIPE.sine.noise_variance
    # どの方法もノイズフロアは下回れず、線形 AR はそれに近い
    assert all(v > floor * 0.8 for v in base.values())
    assert base["linear_ar"] < base["persistence"] < base["window_mean"]


def test_compare_over_seeds_collects_every_method():
    res = compare_over_seeds(
        TINY, [0, 1], models={"gru": ModelConfig(kind="gru", hidden_size=4)}
    )
    assert set(res) == {"persistence", "window_mean", "linear_ar", "gru"}
    assert all(len(v) == 2 for v in res.values())
    assert (
        res["linear_ar"][0] != res["linear_ar"][1]
    )  # シードごとにノイズが変わる


def test_epochs_to_within():
    from medrnn.theory.experiments import epochs_to_within

    assert epochs_to_within([1.0, 0.5, 0.104, 0.1, 0.2], 0.05) == 3
    assert epochs_to_within([1.0, 0.5, 0.104, 0.1, 0.2], 0.0) == 4
    with pytest.raises(ValueError, match="空"):
        epochs_to_within([])
    with pytest.raises(ValueError, match="tolerance"):
        epochs_to_within([1.0], -0.1)


def test_validation_study_runs_full_and_early_stopped_training():
    from medrnn.theory.experiments import validation_study

    recipe = replace(RNN_RECIPE, train=TrainConfig(epochs=8, batch_size=16))
    study = validation_study(recipe, seed=0, patience=3)
    # 訓練部分 160 点 → 学習用 128 点(118 窓)と検証用 32 点(22 窓)
    assert len(study.history.val_loss) == 8
    assert study.n_val_windows == 22
    assert 1 <= study.epoch_within <= 8
    assert study.seconds_within <= study.history.seconds[-1]
    assert len(study.early.val_loss) <= 8
    assert study.test_mse_full > 0 and study.test_mse_early > 0


def test_baseline_predictions_match_the_mses():
    from medrnn.core.evaluation import mse
    from medrnn.theory.experiments import baseline_predictions

    data = prepare_data(RNN_RECIPE)
    preds = baseline_predictions(data)
    target = data.y_test[:, 0].numpy()
    assert all(p.shape == (30,) for p in preds.values())
    for name, value in baseline_mses(data).items():
        assert value == mse(preds[name], target)


def test_seed_offset_shifts_the_data_noise(monkeypatch):
    base = prepare_data(RNN_RECIPE).series
    monkeypatch.setenv("MEDRNN_SEED_OFFSET", "100")
    shifted = prepare_data(RNN_RECIPE).series
    assert not np.array_equal(base, shifted)
    monkeypatch.setenv("MEDRNN_SEED_OFFSET", "0")
    other = prepare_data(
        replace(RNN_RECIPE, sine=replace(RNN_RECIPE.sine, seed=100))
    )
    np.testing.assert_array_equal(shifted, other.series)


def test_validation_study_keeps_the_test_predictions():
    from medrnn.core.evaluation import mse
    from medrnn.theory.experiments import validation_study

    recipe = replace(RNN_RECIPE, train=TrainConfig(epochs=4, batch_size=16))
    study = validation_study(recipe, seed=0, patience=2)
    assert study.test_pred_full.shape == study.test_target.shape == (30,)
    assert study.test_mse_full == mse(study.test_pred_full, study.test_target)
    assert study.test_mse_early == mse(
        study.test_pred_early, study.test_target
    )


def test_train_recipe_is_train_and_predict_for_all_epochs():
    """train_recipe は共通の train_and_predict(早期終了なし)と同じ結果。"""
    from functools import partial

    from medrnn.core.models.nets import RecurrentRegressor
    from medrnn.core.training import train_and_predict

    data = prepare_data(TINY)
    run = train_recipe(TINY, data, seed=2)
    direct = train_and_predict(
        partial(RecurrentRegressor, TINY.model),
        {"train": data.X_train, "test": data.X_test},
        {"train": data.y_train},
        2,
        TINY.train,
    )
    assert len(run.history.train_loss) == TINY.train.epochs
    assert run.history.train_loss == direct.history.train_loss
    np.testing.assert_array_equal(run.test_pred, direct.pred["test"])


def test_validation_windows_split_the_training_part_only():
    """学習用と検証用は訓練部分だけから切り、テストは prepare_data と同じ。"""
    from medrnn.theory.experiments import validation_windows

    data = prepare_data(RNN_RECIPE)
    (X_fit, y_fit), (X_val, y_val), (X_test, y_test) = validation_windows(
        RNN_RECIPE, 0.2
    )
    # 訓練部分 160 点 → 学習用 128 点(118 窓)と検証用 32 点(22 窓)
    assert X_fit.shape == (118, 10, 1) and y_val.shape == (22, 1)
    np.testing.assert_array_equal(y_fit[:, 0].numpy(), data.series[10:128])
    np.testing.assert_array_equal(X_val[0, :, 0].numpy(), data.series[128:138])
    np.testing.assert_array_equal(X_test.numpy(), data.X_test.numpy())
    np.testing.assert_array_equal(y_test.numpy(), data.y_test.numpy())
