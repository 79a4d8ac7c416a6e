"""RNN の章のモジュール(medrnn.chapters.rnn)のテスト。

check_claims は、本物らしい結果では何も返さず、各主張を壊した結果では
その主張の文を返すことを確かめる。report() は小さな設定で動かす。
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from medrnn.chapters import rnn as chapter
from medrnn.core.claims import ClaimError, require
from medrnn.core.training import History, TrainConfig
from medrnn.theory.experiments import RNN_RECIPE, ValidationStudy

EPOCHS = 200
SIGMA2 = 0.04
K = np.arange(31)


def _study(
    stopped: int = 46, best: int = 26, train_last: float = 0.044
) -> ValidationStudy:
    """早期終了の実験の結果らしいもの(best エポックで最小、stopped で停止)。"""
    val_full = list(0.05 + 0.01 * np.abs(np.sin(np.arange(EPOCHS))))
    val_full[best - 1] = 0.04
    val_early = [0.05] * stopped
    val_early[best - 1] = 0.04
    full = History(
        train_loss=[0.1] * (EPOCHS - 1) + [train_last],
        val_loss=val_full,
        seconds=list(range(1, EPOCHS + 1)),
    )
    early = History(
        train_loss=[0.1] * stopped,
        val_loss=val_early,
        seconds=list(range(1, stopped + 1)),
    )
    return ValidationStudy(full, 25, 25.0, early, 0.049, 0.051, 22)


def _inputs(**changes: object) -> chapter.ClaimInputs:
    """本物の実行に近い結果。changes で一部を壊す。"""
    real = chapter.ClaimInputs(
        manual_max_diff=6e-8,
        whh_max_diff=1.5e-8,
        loop_vs_batch=1.2e-7,
        same_losses=True,
        jacobian_norms={
            0.5: 0.5**K * 0.9,
            1.0: 0.997**K,
            2.0: np.minimum(2.0**K, 7e4),
        },
        seed_results={
            "rnn": [0.047, 0.06, 0.07, 0.075, 0.058],
            "linear_ar": [0.047, 0.069, 0.08, 0.078, 0.061],
            "persistence": [0.09, 0.1, 0.11, 0.12, 0.08],
            "window_mean": [0.33, 0.32, 0.34, 0.31, 0.33],
        },
        noise_variance=SIGMA2,
        study=_study(),
        epochs=EPOCHS,
    )
    return replace(real, **changes)


def test_claims_hold_for_a_real_looking_result() -> None:
    assert chapter.check_claims(_inputs()) == []
    # 最後まで止まらなかった早期終了も正しい
    assert chapter.check_claims(_inputs(study=_study(stopped=EPOCHS))) == []


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"manual_max_diff": 1e-3}, "手計算の RNN"),
        ({"whh_max_diff": 1e-2}, "寄与の和"),
        ({"loop_vs_batch": 1e-3}, "1 窓ずつ"),
        ({"same_losses": False}, "fit_with_dataloader"),
        (
            {"jacobian_norms": {0.5: 0.6**K, 1.0: np.ones(31), 2.0: 2.0**K}},
            "倍率の k 乗",
        ),
        (
            {"jacobian_norms": {0.5: 0.5**K, 1.0: np.ones(31), 2.0: 0.9**K}},
            "倍率 2.0",
        ),
        (
            {"seed_results": {"rnn": [0.001] * 5, "linear_ar": [0.05] * 5}},
            "ノイズフロアを大きく下回らない(平均",
        ),
        ({"study": _study(stopped=60, best=26)}, "我慢の分"),
        ({"study": _study(train_last=0.005)}, "訓練損失"),
        ({"epochs": 150}, "レシピのエポック数"),
    ],
)
def test_each_claim_is_caught(changes: dict, words: str) -> None:
    failures = chapter.check_claims(_inputs(**changes))
    assert any(words in text for text in failures), failures
    with pytest.raises(ClaimError):
        require(failures)


def test_claim_scale_half_catches_a_non_vanishing_gradient() -> None:
    norms = {0.5: np.full(31, 1e-6), 1.0: 0.99**K, 2.0: 1.5**K}
    failures = chapter.check_claims(_inputs(jacobian_norms=norms))
    assert any("倍率 0.5" in text for text in failures)


def test_seed_comparisons_are_paired_and_named() -> None:
    res = _inputs().seed_results
    comps = chapter.seed_comparisons(res)
    assert set(comps) == set(chapter.BASELINES)
    ar = comps["linear_ar"]
    assert ar.name_a == "RNN" and ar.name_b == "線形 AR"
    np.testing.assert_allclose(
        ar.diffs, np.subtract(res["rnn"], res["linear_ar"])
    )
    assert comps["window_mean"].verdict == "better"
    rows = chapter.paired_rows(comps)
    assert rows[0]["シード 4"] == f"{ar.diffs[4]:+.4f}"
    assert "95% 区間" in rows[0] and rows[0]["A が良い"] == f"{ar.wins}/5"
    table = chapter.per_seed_rows(res)
    assert [r["予測法"] for r in table] == list(chapter.LABELS.values())
    assert table[0]["シード 0"] == "0.0470"


def test_compare_on_test_windows_uses_time_blocks() -> None:
    rng = np.random.default_rng(0)
    target = rng.normal(size=30)
    good = target + rng.normal(0, 0.1, size=30)
    bad = target + rng.normal(0, 1.0, size=30)
    c = chapter.compare_on_test_windows(good, bad, target, ("A", "B"))
    assert c.n == 30 // chapter.CHAPTER_TIME_BLOCK
    assert c.verdict == "better" and "時間ブロック" in c.method


def test_report_prints_the_key_lines(monkeypatch, capsys) -> None:
    tiny = replace(RNN_RECIPE, train=TrainConfig(epochs=2, batch_size=16))
    monkeypatch.setattr(chapter, "RNN_RECIPE", tiny)
    chapter.report(seed=0, n_seeds=2)
    out = capsys.readouterr().out
    assert "テスト MSE" in out and "ノイズフロア" in out
    assert "テスト窓での RNN − 線形 AR" in out
    assert "RNN − 線形 AR: 差" in out and "判定" in out


def test_exercise_1_counts_like_count_parameters():
    from medrnn.core.models.nets import (
        RNN_MODEL,
        RecurrentRegressor,
        count_parameters,
    )

    model = RecurrentRegressor(RNN_MODEL)
    assert chapter.exercise_1(RNN_MODEL) == count_parameters(model)


def test_exercise_2_gives_the_range_of_distances_1_to_t():
    import torch

    rnn = torch.nn.RNN(1, 4, batch_first=True)
    out = chapter.exercise_2(rnn, torch.randn(1, 6, 1))
    assert 0 < out["trained_min"] <= out["trained_max"]


def test_exercise_3_oracle_is_near_the_noise_floor():
    out = chapter.exercise_3([0.05, 0.06], seeds=(0, 1))
    assert set(out) == {"oracle_mean", "oracle_std", "oracle_gap"}
    assert 0.2 * SIGMA2 < out["oracle_mean"] < 3 * SIGMA2
    assert out["oracle_gap"] == pytest.approx(0.055 - out["oracle_mean"])
