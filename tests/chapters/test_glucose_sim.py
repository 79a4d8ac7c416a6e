"""シミュレータの章のモジュール(medrnn.chapters.glucose_sim)のテスト。

check_claims は、本物らしい結果では何も返さず、各主張を壊した結果では
その主張の文を返すことを確かめる。比較の関数と report() は小さな設定で動かす。
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from medrnn.chapters import glucose_sim as chapter
from medrnn.core.claims import ClaimError, require
from medrnn.core.training import TrainConfig
from medrnn.glucose_sim import tasks

N = 600  # テストの窓の数(3 人 × 200 窓)
GROUPS = np.repeat([7, 8, 9], 200)  # 各窓の患者(Cohort の行)
HYPO = np.arange(N) % 50 == 5  # 深い低血糖の 12 窓


def _real_errors() -> dict[str, np.ndarray]:
    """本物の実行に近い誤差: 低血糖の窓で線形だけが大きく外れ、食後すぐは
    血糖のみのモデルが大きく外れる。"""
    rng = np.random.default_rng(0)
    base = rng.normal(0.0, 10.0, N)
    after = _after()
    meal = np.where(after, 25.0, 0.0)
    hypo = np.where(HYPO, -100.0, 0.0)  # 低血糖の窓で、線形は負の値まで外れる
    gru = base + rng.normal(0.0, 1.0, (5, N))
    return {
        "persist": (base * 1.2 + meal)[None],
        "linear_glucose": (base + meal + hypo)[None],
        "linear_multi": (base + 0.3 * meal + hypo)[None],
        "gru_glucose": gru + meal,
        "gru_multi": gru + 0.2 * meal,
    }


def _after() -> np.ndarray:
    return np.arange(N) % 10 < 2  # 食後すぐの 120 窓(どの患者にもある)


def _target() -> np.ndarray:
    return np.where(HYPO, 45.0, 140.0)


def _inputs(**changes: object) -> chapter.ClaimInputs:
    real = chapter.ClaimInputs(
        split_rows={
            "train": np.arange(6),
            "val": np.array([6]),
            "test": GROUPS,
        },
        cgm_min={"train": 49.8, "val": 79.6, "test": 39.0},
        target=_target(),
        errors=_real_errors(),
        after=_after(),
        horizon_rmse={
            "持続予測": np.array([10.5, 16.9, 22.1, 26.6]),
            "線形・血糖のみ": np.array([7.5, 15.9, 19.7, 23.8]),
            "線形・血糖 + 食事 + インスリン": np.array(
                [7.2, 14.3, 17.3, 21.4]
            ),
        },
    )
    return replace(real, **changes)


def _errors_with(**changes: np.ndarray) -> dict[str, np.ndarray]:
    return _real_errors() | changes


def test_claims_hold_for_a_real_looking_result() -> None:
    assert chapter.check_claims(_inputs()) == []


def _no_meal_jump() -> dict[str, np.ndarray]:
    flat = _real_errors()["gru_glucose"] - np.where(_after(), 25.0, 0.0)
    return _errors_with(gru_glucose=flat, gru_multi=flat)


def _gru_blows_up() -> dict[str, np.ndarray]:
    gru = _real_errors()["gru_multi"].copy()
    gru[2, 51] = 500.0
    return _errors_with(gru_multi=gru)


def _linear_no_negative() -> dict[str, np.ndarray]:
    lin = _real_errors()["linear_multi"].copy()
    lin[0, HYPO] = 10.0
    return _errors_with(linear_multi=lin)


def _largest_not_hypo() -> dict[str, np.ndarray]:
    lin = _real_errors()["linear_glucose"].copy()
    lin[0, 61] = 900.0  # 正解 140 mg/dL の窓で最大の外れ
    return _errors_with(linear_glucose=lin)


@pytest.mark.parametrize(
    "changes, words",
    [
        (
            {
                "split_rows": {
                    "train": np.arange(6),
                    "val": np.array([6]),
                    "test": np.array([5, 8, 9]),
                }
            },
            "同じ患者",
        ),
        (
            {"cgm_min": {"train": 49.8, "val": 65.0, "test": 39.0}},
            "検証の患者の CGM",
        ),
        (
            {"cgm_min": {"train": 42.0, "val": 79.6, "test": 39.0}},
            "テストの患者の CGM の最低値",
        ),
        ({"errors": _linear_no_negative()}, "負の血糖値"),
        ({"errors": _largest_not_hypo()}, "誤差の大きい"),
        ({"errors": _gru_blows_up()}, "GRU の最大の誤差"),
        ({"errors": _no_meal_jump()}, "1.3 倍"),
        (
            {
                "errors": _errors_with(
                    linear_multi=_real_errors()["linear_glucose"]
                )
            },
            "改善は、食後",
        ),
        (
            {
                "horizon_rmse": {
                    "持続予測": np.array([10.5, 16.9, 15.0, 26.6]),
                    "線形・血糖のみ": np.array([7.5, 15.9, 19.7, 23.8]),
                    "線形・血糖 + 食事 + インスリン": np.array(
                        [7.2, 14.3, 17.3, 21.4]
                    ),
                }
            },
            "予測先が遠いほど",
        ),
        (
            {
                "horizon_rmse": {
                    "持続予測": np.array([10.5, 16.9, 22.1, 26.6]),
                    "線形・血糖のみ": np.array([9.5, 15.9, 19.7, 23.8]),
                    "線形・血糖 + 食事 + インスリン": np.array(
                        [7.2, 14.3, 17.3, 21.7]
                    ),
                }
            },
            "60 分先",
        ),
    ],
)
def test_each_claim_is_caught(changes: dict, words: str) -> None:
    failures = chapter.check_claims(_inputs(**changes))
    assert any(words in text for text in failures), failures
    with pytest.raises(ClaimError):
        require(failures)


def test_pair_comparisons_rows_and_words() -> None:
    errors, target = _real_errors(), _target()
    offset = np.where(_after(), 10.0, 100.0)
    offset[np.arange(N) % 10 == 3] = -30.0  # 食事の前の窓
    masks = chapter.window_masks(target, offset)
    assert masks["after"].sum() == 120 and masks["before"].sum() == 60
    assert masks["nohypo"].sum() == N - 12
    pairs = chapter.MAIN_PAIRS | chapter.MEAL_PAIRS
    comps = chapter.compare_pairs(errors, GROUPS, masks, pairs)
    assert set(comps) == set(pairs)
    # 食後すぐの窓では、3 チャネルがどの患者でもはっきり良い
    assert comps["after_linear"].verdict == "better"
    assert comps["after_linear"].n == 3
    rows = chapter.verdict_rows(comps, chapter.pair_notes(pairs))
    assert len(rows) == len(pairs)
    assert rows[0]["対象"] == "すべての窓・RMSE"
    assert rows[0]["A が良い"].endswith("人")
    words = chapter.direction_words(comps)
    assert words["after_linear"] == "下がりました"
    assert set(words) <= set(chapter.DIRECTIONS)
    summary = chapter.gru_vs_linear_summary(comps)
    assert "とは言えません" in summary  # 低血糖を除くと線形が良い
    curves = chapter.meal_curves(errors, offset)
    assert len(curves) == 4
    assert all(
        v.shape == (len(chapter.MEAL_BIN_EDGES) - 1,) for v in curves.values()
    )
    assert len(chapter.bins_worse_per_seed(errors, offset)) == 5


def test_every_direction_has_three_phrases() -> None:
    for key, words in chapter.DIRECTIONS.items():
        assert len(words) == 3 and all(words), key
    keys = (
        set(chapter.MAIN_PAIRS)
        | set(chapter.MEAL_PAIRS)
        | set(chapter.SEED_NOTES)
        | {"h15", "h60"}
    )
    assert set(chapter.DIRECTIONS) <= keys


def test_chapter_settings() -> None:
    training = chapter.chapter_training()
    assert training.kind == chapter.CHAPTER_KIND
    assert training.train == chapter.CHAPTER_TRAIN
    assert training.patience == chapter.CHAPTER_PATIENCE
    assert training.device is None
    # 検証の患者で選んだ設定(章の本文と同じ値)
    assert chapter.CHAPTER_TRAIN.lr == 3e-3
    assert chapter.CHAPTER_TRAIN.epochs == 16
    assert chapter.CHAPTER_TRAIN.batch_size == 128
    assert chapter.CHAPTER_PATIENCE == 3
    # 訓練の窓の間引き幅は 3(CGM の誤差の節の間隔 15 分)の倍数にしない
    assert chapter.CHAPTER_FORECAST.train_stride % 3 != 0
    assert chapter.CHAPTER_SEEDS == (0, 1, 2, 3, 4)  # 比べるのは 5 シード以上
    split = chapter.CHAPTER_SPLIT
    names = split.train + split.val + split.test
    assert len(set(names)) == len(names) == 10


@pytest.fixture(scope="module")
def small_run() -> tuple[tasks.Cohort, tasks.Comparison]:
    cohort = tasks.simulate_cohort(tasks.CohortConfig(n_days=1, seed=3))
    comp = tasks.compare_sim_inputs(
        cohort,
        chapter.CHAPTER_SPLIT,
        tasks.SimForecastConfig(12, 6),
        tasks.SimTraining("gru", TrainConfig(epochs=1, batch_size=256), 4),
        seeds=(0, 1),
    )
    return cohort, comp


def test_seed_and_fit_comparisons(small_run) -> None:
    cohort, comp = small_run
    errors = chapter.test_errors(comp)
    n_test = len(comp.target_mg())
    assert errors["persist"].shape == (1, n_test)
    assert errors["gru_multi"].shape == (2, n_test)
    seeds = chapter.seed_comparisons(comp)["gru_inputs_seeds"]
    assert seeds.n == 2 and len(seeds.diffs) == 2
    data = comp.data["multi"]
    linear = tasks.LinearAR.fit(data.X["train"], data.y["train"])
    fit = chapter.fit_rmse(
        data, linear, comp.runs["multi"], comp.runs["multi"]
    )
    assert fit["train"]["linear"][0] == fit["train"]["linear"][1]
    rows = chapter.fit_rows(fit)
    assert [r["区間"] for r in rows] == ["訓練の 6 人", "検証の 1 人"]
    linear_text = rows[0][chapter.FIT_NAMES["linear"]]
    assert linear_text == f"{fit['train']['linear'][0]:.2f}"  # 平均だけ
    assert " ± " in rows[0][chapter.FIT_NAMES["gru"]]  # 2 シード
    comps = chapter.fit_comparisons(fit)
    assert comps["gru_raw"].mean_diff == 0.0  # 同じ学習どうし
    assert comps["gru_raw"].verdict == "cannot tell"
    offset = chapter.meal_offsets(cohort, comp, 6)
    assert offset.shape == (n_test,)
    by_h = {
        h: tasks.baseline_errors(
            cohort, chapter.CHAPTER_SPLIT, tasks.SimForecastConfig(12, h)
        )
        for h in (3, 12)
    }
    h = chapter.horizon_comparisons(by_h, cohort.sample_min)
    assert set(h) == {"h15", "h60"} and h["h15"].n == 3


def test_claim_inputs_from_a_run(small_run) -> None:
    cohort, comp = small_run
    offset = chapter.meal_offsets(cohort, comp, 6)
    r = chapter.claim_inputs(
        cohort, comp, offset, {"持続予測": np.array([1.0, 2.0])}
    )
    assert set(r.cgm_min) == {"train", "val", "test"}
    assert set(r.errors) == set(chapter.LABELS)
    assert r.after.dtype == bool and r.after.shape == r.target.shape


def test_report_prints_the_key_lines(monkeypatch, capsys) -> None:
    monkeypatch.setattr(
        chapter, "CHAPTER_COHORT", tasks.CohortConfig(n_days=1, seed=3)
    )
    monkeypatch.setattr(
        chapter, "CHAPTER_TRAIN", TrainConfig(epochs=1, batch_size=256)
    )
    monkeypatch.setattr(chapter, "CHAPTER_HORIZONS", (3, 12))
    chapter.report(seed=0, n_seeds=2)
    out = capsys.readouterr().out
    assert "シミュレーション: 10 人 × 1 日" in out
    assert "30 分先のテスト RMSE・MAE" in out and "持続予測" in out
    assert "患者ごとのブートストラップ" in out and "判定" in out
    assert "シードで対応づけた比較" in out
    assert "主張の検査" in out
