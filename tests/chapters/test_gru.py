"""GRU の章のモジュール(medrnn.chapters.gru)の比較・主張の検査・報告。"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from medrnn.chapters import gru
from medrnn.core.models.nets import ModelConfig
from medrnn.theory.gradients import UpdateTrace
from medrnn.theory.longlag import ClippingResult, LagConfig, LagSweep

NAMES = list(gru.LAG_MODELS)
LAGS = list(gru.LAGS)


def fake_sweep(
    accuracy: dict[str, list[list[float]]] | None = None,
) -> LagSweep:
    """本物らしい長い遅れの結果(遅れ 5, 15, 30, 60 × 5 シード)。"""
    good, bad = [0.97] * 5, [0.5] * 5
    rows = {
        "RNN": [good, good, [0.5, 1, 1, 0.5, 0.5], bad],
        "LSTM": [good, bad, bad, bad],
        "GRU": [good, [1, 1, 0.5, 1, 1], bad, bad],
        "LSTM(b_f=3)": [good, good, good, [0.97, 0.96, 0.5, 0.5, 0.96]],
        "GRU(b_z=3)": [good, good, good, good],
    }
    rows |= accuracy or {}
    table = {k: np.array(v, dtype=float) for k, v in rows.items()}
    steps = {k: np.where(v >= 0.9, 50.0, np.nan) for k, v in table.items()}
    return LagSweep(LAGS, [0, 1, 2, 3, 4], table, {}, 1.0, steps)


def fake_norms(
    vanished: float = 1e-9, carried: float = 0.2
) -> dict[str, np.ndarray]:
    """学習前の勾配ノルム(時刻 0 が距離 30、最後が距離 0)。"""
    out = {}
    for name in NAMES:
        ratio = carried if "=3" in name else vanished
        out[name] = np.geomspace(ratio, 1.0, 31)
    return out


def fake_clip(
    plain_max: float = 50.0, clipped_max: float = 0.3
) -> ClippingResult:
    """クリッピングの結果(5 シード、更新量と損失だけ)。"""

    def trace(top: float, loss: float) -> UpdateTrace:
        return UpdateTrace(
            loss=[loss] * 20,
            grad_norm=[1.0] * 20,
            update_norm=[top] + [0.01] * 19,
        )

    return ClippingResult(
        {
            "plain": [trace(plain_max, 0.69) for _ in range(5)],
            "clipped": [trace(clipped_max, 0.05 + 0.01 * s) for s in range(5)],
        },
        {"plain": [], "clipped": []},
        torch.zeros(1, 31, 1),
        torch.zeros(1, 1),
    )


GAPS = {
    k: {"output": 1e-7, "state": 1e-7, "grad_relative": 1e-7}
    for k in ("rnn", "lstm", "gru")
}


def claims(**changes: object) -> list[str]:
    """本物らしい結果の一部だけを changes で差し替えて検査する。"""
    args = {
        "norms_init": fake_norms(),
        "explode_ratio": 1e5,
        "clip": fake_clip(),
        "sweep": fake_sweep(),
        "gaps": GAPS,
    }
    return gru.check_claims(**(args | changes))


def test_real_looking_results_pass() -> None:
    """本物らしい結果では、どの主張も成り立つ。"""
    assert claims() == []


@pytest.mark.parametrize(
    ("changes", "word"),
    [
        (
            {
                "gaps": {
                    "gru": {"output": 1e-2, "state": 0.0, "grad_relative": 0.0}
                }
            },
            "一致",
        ),
        ({"norms_init": fake_norms(vanished=0.05)}, "1000 分の 1"),
        ({"norms_init": fake_norms(carried=1e-4)}, "100 分の 1"),
        ({"explode_ratio": 0.5}, "5 倍"),
        ({"clip": fake_clip(clipped_max=0.5)}, "学習率 × 上限以下"),
        ({"clip": fake_clip(plain_max=0.2)}, "超える"),
        ({"sweep": fake_sweep({"GRU": [[0.5] * 5] * 4})}, "遅れ 5"),
        ({"sweep": fake_sweep({"LSTM": [[0.97] * 5] * 4})}, "最長の遅れ"),
    ],
)
def test_each_broken_claim_is_caught(changes: dict, word: str) -> None:
    """主張に反する結果を 1 つずつ作ると、その主張だけが失敗する。"""
    failures = claims(**changes)
    assert len(failures) == 1 and word in failures[0], failures


def test_lag_comparisons_and_tables() -> None:
    """比較は LAG_PAIRS の順で、正解率は高いほど良い量として判定する。"""
    sweep = fake_sweep()
    comparisons = gru.lag_comparisons(sweep)
    assert len(comparisons) == len(gru.LAG_PAIRS)
    lstm_bias = comparisons["30_LSTM(b_f=3)_LSTM"]
    assert lstm_bias.verdict == "better" and lstm_bias.wins == 5
    assert comparisons["60_GRU(b_z=3)_LSTM(b_f=3)"].verdict == "cannot tell"
    rows = gru.lag_comparison_rows(comparisons)
    assert rows[0]["遅れ"] == "15" and "判定(A は)" in rows[0]
    table = gru.lag_table_rows(sweep)
    assert table[1]["遅れ 15"] == "0.50(0/5、—)"
    assert table[4]["全シードで解けた最長の遅れ"] == "60"
    assert table[1]["全シードで解けた最長の遅れ"] == "5"
    assert "学べるようになりました" in gru.bias_conclusion(comparisons)
    tied = fake_sweep(
        {
            "LSTM(b_f=3)": [
                [0.97] * 5,
                [0.97] * 5,
                [1, 0.5, 0.5, 1, 0.5],
                [0.5] * 5,
            ]
        }
    )
    assert "はっきり" in gru.bias_conclusion(gru.lag_comparisons(tied))


def test_clip_comparison_pairs_by_seed() -> None:
    """損失は「あり − なし」で、小さいほど良い。"""
    c = gru.clip_comparison(fake_clip())
    assert c.verdict == "better" and c.n == 5


def test_sine_comparisons_and_conclusion() -> None:
    """サイン波の比較は SINE_PAIRS の順。差がはっきりしなければそう書く。"""
    mse = {name: [0.046, 0.047, 0.045, 0.048, 0.046] for name in gru.LABELS}
    mse["gru"] = [0.0461, 0.0469, 0.0452, 0.0479, 0.0462]
    result = gru.SineComparison(mse, {}, None, [0, 1, 2, 3, 4])
    comparisons = gru.sine_comparisons(result)
    assert list(comparisons) == [f"{a}_{b}" for a, b in gru.SINE_PAIRS]
    assert "はっきりとは言えなかった" in gru.sine_conclusion(comparisons)
    rows = gru.sine_summary_rows(result)
    assert rows[0]["予測法"] == "持続予測"


def test_report_prints_the_key_lines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """小さな設定で report() を実行し、表と結論の行が出ることを確かめる。"""
    monkeypatch.setattr(
        gru, "LAG_CONFIG", LagConfig(steps=5, n_test=20, n_check=20)
    )
    tiny = replace(
        gru.SINE_RECIPE, train=replace(gru.SINE_RECIPE.train, epochs=1)
    )
    monkeypatch.setattr(gru, "SINE_RECIPE", tiny)
    monkeypatch.setattr(
        gru,
        "SINE_MODELS",
        {
            k: ModelConfig(kind=k, hidden_size=4)
            for k in ("rnn", "lstm", "gru")
        },
    )
    gru.report(seed=0, n_seeds=2)
    out = capsys.readouterr().out
    assert "長い遅れの課題(2 シード)" in out and "GRU(b_z=3)" in out
    assert "サイン波の一歩先予測(2 シード" in out and "線形 AR" in out
    assert "判定(A は)" in out
    with pytest.raises(ValueError, match="n_seeds"):
        gru.report(n_seeds=1)


def test_exercise_1_formula_matches_counted():
    out = gru.exercise_1()
    assert out["gru_formula"] == out["gru_counted"] == 1056
    assert out["lstm_formula"] == out["lstm_counted"] == 1408


def test_exercise_2_flipped_update_gate_matches_textbook_form():
    assert gru.exercise_2() < 1e-5


def test_textbook_step_without_flip_differs_from_pytorch():
    from medrnn.core.models.scratch import GRUCellScratch

    cell = GRUCellScratch(4, 16)
    x_t, h_prev = torch.randn(3, 4), torch.randn(3, 16)
    with torch.no_grad():
        gap = cell(x_t, h_prev) - gru.textbook_gru_step(cell, x_t, h_prev)
    assert float(gap.abs().max()) > 1e-3


def test_exercise_3_runs_with_a_tiny_config():
    tiny = LagConfig(steps=4, n_test=16, n_check=16, check_every=2)
    out = gru.exercise_3([0, 1], tiny)
    assert out["sigmoid_1"] == pytest.approx(0.7311, abs=1e-4)
    assert out["decay"] == pytest.approx(out["sigmoid_1"] ** 30)
    assert len(out["acc"].split("、")) == 2
