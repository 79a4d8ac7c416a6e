"""medrnn.chapters.lstm のテスト: 比較の表、記事の数字、主張の検査、report。"""

from dataclasses import replace

import numpy as np
import pytest

from medrnn.chapters import lstm
from medrnn.core.training import History, TrainConfig
from medrnn.theory.experiments import (
    ValidationStudy,
    prepare_data,
    validation_windows,
)

NOISE_VAR = lstm.CHAPTER_RECIPE.sine.noise_variance
SEEDS = [0, 1, 2, 3, 4]


def real_results() -> dict[str, list[float]]:
    """本章を実行したときに近い、5 シードのテスト MSE。"""
    return {
        "lstm": [0.050, 0.058, 0.066, 0.049, 0.062],
        "rnn": [0.051, 0.057, 0.064, 0.050, 0.063],
        "linear_ar": [0.051, 0.058, 0.065, 0.050, 0.064],
        "persistence": [0.080, 0.090, 0.105, 0.070, 0.088],
        "window_mean": [0.180, 0.190, 0.195, 0.172, 0.186],
    }


def real_study() -> ValidationStudy:
    full = History(
        train_loss=[0.2] + [0.045] * 49,
        val_loss=[0.3, 0.1, 0.06, 0.05] + [0.046] * 45 + [0.047],
        seconds=[0.1 * i for i in range(1, 51)],
    )
    early = History(
        train_loss=full.train_loss[:15],
        val_loss=full.val_loss[:15],
        seconds=full.seconds[:15],
    )
    return ValidationStudy(full, 5, 0.5, early, 0.047, 0.048, 150)


def real_hypotheses() -> list[lstm.Hypothesis]:
    return [
        lstm.Hypothesis("σ = 0.2", 0.04, 0.058),
        lstm.Hypothesis("縮めた", 0.0045, 0.0065),
        lstm.Hypothesis("σ = 0.05", 0.0025, 0.0037),
        lstm.Hypothesis("σ = 0.07", 0.0049, 0.0072),
    ]


def check(**changes) -> list[str]:
    args = {
        "results": real_results(),
        "noise_var": NOISE_VAR,
        "scratch_gap": 3e-8,
        "params": (31401, 31401),
        "study": real_study(),
        "hypotheses": real_hypotheses(),
    }
    return lstm.check_claims(**(args | changes))


def test_real_looking_results_pass():
    assert check() == []


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"scratch_gap": 1e-2}, "丸め誤差"),
        ({"params": (31401, 31400)}, "パラメータ数"),
        (
            {
                "hypotheses": real_hypotheses()[:1]
                + [lstm.Hypothesis("縮めた", 0.009, 0.01)]
            },
            "仮定",
        ),
    ],
)
def test_each_claim_is_caught(changes, words):
    failures = check(**changes)
    assert len(failures) == 1 and words in failures[0]


def test_value_far_below_the_floor_is_caught():
    results = real_results()
    results["lstm"][2] = 0.0069  # 記事のような値
    assert any("ノイズフロアを大きくは" in f for f in check(results=results))


def test_baseline_order_claims_are_caught():
    results = real_results()
    results["linear_ar"][1] = 0.095  # 持続予測より悪い
    results["window_mean"][3] = 0.060  # 持続予測より良い
    failures = check(results=results)
    assert any("線形 AR は全シード" in f for f in failures)
    assert any("窓の平均は全シード" in f for f in failures)
    results = real_results()
    results["linear_ar"] = [0.041, 0.039, 0.040, 0.038, 0.040]
    assert any("シードの平均で" in f for f in check(results=results))


def test_early_stopping_claims_are_caught():
    study = real_study()
    longer = History(
        train_loss=[0.1] * 60, val_loss=[0.1] * 60, seconds=[0.1] * 60
    )
    assert any(
        "早期終了" in f for f in check(study=replace(study, early=longer))
    )
    assert any(
        "5% 以内" in f for f in check(study=replace(study, epoch_within=49))
    )


def test_seed_comparisons_and_rows():
    results = real_results()
    comps = lstm.seed_comparisons(results)
    assert list(comps) == [f"{a}_{b}" for a, b in lstm.PAIRS]
    assert comps["lstm_persistence"].verdict == "better"
    assert comps["lstm_rnn"].verdict == "cannot tell"
    np.testing.assert_allclose(
        comps["lstm_rnn"].diffs, np.subtract(results["lstm"], results["rnn"])
    )
    rows = lstm.per_seed_rows(results, SEEDS)
    assert [r["手法"] for r in rows] == list(lstm.LABELS.values())
    assert rows[0]["シード 0"] == "0.0500"
    assert len(lstm.difference_rows(comps)) == len(lstm.PAIRS)


def test_seed_results_reuses_known_runs(monkeypatch):
    tiny = replace(
        lstm.CHAPTER_RECIPE, train=TrainConfig(epochs=1, batch_size=256)
    )
    results = lstm.seed_results(
        [0, 1], recipe=tiny, known={"lstm": {0: 123.0}}
    )
    assert results["lstm"][0] == 123.0
    assert all(len(v) == 2 for v in results.values())
    assert set(results) == set(lstm.METHODS)


def test_seed_recipe_shifts_the_noise_once(monkeypatch):
    from dataclasses import replace

    from medrnn.core.data import make_noisy_sine

    recipe = lstm.seed_recipe(3)
    assert recipe.sine.seed == 3
    monkeypatch.setenv("MEDRNN_SEED_OFFSET", "100")
    # ずらし分は prepare_data が 1 回だけ足す(ノイズのシードは 103)
    _, expected = make_noisy_sine(replace(recipe.sine, seed=103))
    assert np.array_equal(prepare_data(recipe).series, expected)
    # 検証の分け方も同じデータから作る
    (fit_x, _), _, _ = validation_windows(recipe, 0.2)
    assert np.array_equal(
        fit_x[0, :, 0].numpy(), expected[:10].astype(np.float32)
    )


def test_article_hypotheses_scale_as_stated():
    hyps = lstm.article_hypotheses(SEEDS[:2])
    assert len(hyps) == 2 + len(lstm.ARTICLE_SIGMAS)
    assert hyps[0].floor == pytest.approx(NOISE_VAR)
    widths = [
        lstm.train_range(prepare_data(lstm.seed_recipe(s))) for s in SEEDS[:2]
    ]
    assert hyps[1].floor == pytest.approx(
        np.mean([NOISE_VAR / w**2 for w in widths])
    )
    for h in hyps:
        assert h.ar_mse > 0.8 * h.floor
    rows = lstm.hypothesis_rows(hyps)
    assert rows[0]["記事のテスト MSE ÷ フロア"] == (
        f"{lstm.ARTICLE['test_mse'] / NOISE_VAR:.2f}"
    )


def test_wave_errors_window_mean_lags_more():
    data = prepare_data(lstm.seed_recipe(0))
    waves = lstm.wave_errors(data, lstm.CHAPTER_RECIPE.seq_len)
    dt = data.t[1] - data.t[0]
    # 持続予測の遅れは 1 ステップ: sin の変化の 2 乗平均 ≈ dt²/2
    assert waves["persistence"] == pytest.approx(dt**2 / 2, rel=0.05)
    assert waves["window_mean"] > 10 * waves["persistence"]


def test_report_prints_key_lines(monkeypatch, capsys):
    tiny = replace(
        lstm.CHAPTER_RECIPE, train=TrainConfig(epochs=1, batch_size=256)
    )
    monkeypatch.setattr(lstm, "CHAPTER_RECIPE", tiny)
    lstm.report(seed=0, n_seeds=2)
    out = capsys.readouterr().out
    assert "LSTM(シード 0)" in out and "テスト MSE" in out
    assert "シードで対応させた差" in out and "LSTM(本章) − RNN(前章)" in out
    assert "記事のテスト MSE" in out and "縮めた" in out


@pytest.mark.parametrize("patience", [1, 20])
def test_validation_study_once_equals_two_runs(patience):
    from medrnn.theory.experiments import validation_study

    recipe = replace(
        lstm.seed_recipe(0),
        train=TrainConfig(epochs=12, batch_size=64, lr=0.02),
    )
    two = validation_study(recipe, seed=0, val_ratio=0.2, patience=patience)
    one = lstm.validation_study_once(
        recipe, seed=0, val_ratio=0.2, patience=patience
    )
    assert one.history.val_loss == two.history.val_loss
    assert one.history.train_loss == two.history.train_loss
    assert one.early.val_loss == two.early.val_loss
    assert one.test_mse_full == two.test_mse_full
    assert one.test_mse_early == two.test_mse_early
    assert (one.epoch_within, one.n_val_windows) == (
        two.epoch_within,
        two.n_val_windows,
    )
    if patience == 1:  # 途中で止まる場合も確かめる
        assert len(one.early.val_loss) < len(one.history.val_loss)


def test_exercise_1_shapes_and_counts():
    out = lstm.exercise_1()
    assert out["output"] == (8, 24, 32)
    assert out["h_n"] == out["c_n"] == (6, 8, 16)
    assert out["formula"] == out["counted"]


def test_exercise_2_expected_values_add_noise_to_the_lag_error():
    data = prepare_data(lstm.CHAPTER_RECIPE)
    out = lstm.exercise_2(data, [0])
    assert out["pers_theory_01"] == pytest.approx(0.02 + out["wave_pers"])
    assert out["mean_theory_02"] > out["wave_mean"] > out["wave_pers"]
    assert {"pers_01", "mean_01", "pers_02", "mean_02"} <= set(out)
