"""medrnn.chapters.vitals: 比較の組み立て、主張の検査
(破る結果を見逃さない)、report()。
"""

import numpy as np
import pytest

from medrnn.chapters import vitals as ch
from medrnn.core.training import TrainConfig
from medrnn.vitals.data import VitalSeries
from medrnn.vitals.tasks import FitResult, MissingConfig, prepare_windows

N_TEST = 50
FAST = TrainConfig(epochs=2, batch_size=64, lr=1e-2)


def fit(rmse: float, n: int = N_TEST) -> FitResult:
    return FitResult(
        rmse,
        np.zeros(n),
        epochs=10,
        seconds=0.1,
        val_rmse_bpm=rmse,
        best_epoch=4,
    )


def real_looking() -> tuple[dict, dict, dict]:
    """本物の実行に似せた結果(欠測なし・欠測の掃引・スポット測定)。"""
    seeds = len(ch.CHAPTER_SEEDS)
    results = {
        (i, k): [fit(4.2 + 0.01 * s) for s in range(seeds)]
        for i in ("uni", "multi")
        for k in ch.CHAPTER_KINDS
    }
    results["uni", "gru"] = [fit(4.25) for _ in range(seeds)]
    sweep = {}
    for setting in ch.CHAPTER_MISSING:
        for st in ch.CHAPTER_STRATEGIES:
            for k in ch.CHAPTER_SWEEP_KINDS:
                base = 3.0 if st == "leaky" else 4.6
                sweep[setting, st, k] = [base + 0.05 * s for s in range(seeds)]
        sweep[setting, "locf", "persist"] = [4.8] * seeds
    spot = {
        (st, k): [
            (2.5 if st == "leaky" else 4.3) + 0.02 * s for s in range(seeds)
        ]
        for st in ch.CHAPTER_SPOT_STRATEGIES
        for k in ch.CHAPTER_SWEEP_KINDS
    }
    spot["locf", "persist"] = [4.4 + 0.01 * s for s in range(seeds)]
    return results, sweep, spot


def claims(
    results, sweep, spot, train=ch.CHAPTER_TRAIN, patience=ch.CHAPTER_PATIENCE
) -> list[str]:
    return ch.check_claims(results, sweep, spot, train, patience)


def test_real_looking_result_passes_all_claims():
    assert claims(*real_looking()) == []


def test_setting_not_among_validation_candidates_is_caught():
    bad = TrainConfig(epochs=30, batch_size=64, lr=5e-2)  # 候補にない設定
    failures = claims(*real_looking(), train=bad)
    assert failures == ["学習の設定は、検証区間で比べた候補の中から選んだ"]


def test_models_scored_on_different_test_windows_is_caught():
    results, sweep, spot = real_looking()
    results["multi", "lstm"][0] = fit(4.2, n=N_TEST - 1)
    assert claims(results, sweep, spot) == [
        "入力の組もモデルも、同じテスト窓で評価している"
    ]


@pytest.mark.parametrize("kind", ch.CHAPTER_SWEEP_KINDS)
def test_leak_that_does_not_look_better_than_no_missing_is_caught(kind):
    results, sweep, spot = real_looking()
    heavy = MissingConfig("mcar", 0.75)
    sweep[heavy, "leaky", kind] = [4.2 - ch.LEAK_MARGIN_BPM / 2] * 5
    failures = claims(results, sweep, spot)
    assert len(failures) == 1 and "リーク" in failures[0]
    assert "75%" in failures[0]


def test_spot_check_where_leak_is_not_smallest_is_caught():
    results, sweep, spot = real_looking()
    spot["mask_delta", "linear"] = [2.55] * 5  # リークとの差が幅より小さい
    failures = claims(results, sweep, spot)
    assert len(failures) == 1 and failures[0].startswith("スポット測定でも")


def toy_series(n: int = 900) -> VitalSeries:
    t = (np.arange(n) + 1) * 0.5
    rng = np.random.default_rng(0)
    hr = 70 + 5 * np.sin(t / 5) + rng.normal(0, 0.5, n)
    return VitalSeries(
        t, np.column_stack([hr, np.sin(t * 1.5), 10 + 0.01 * t]), 0.5
    )


TOY = ch.VitalsForecastConfig(seq_len=8, horizon=2, train_stride=1)


def test_comparisons_pair_by_seed_and_by_time_block():
    s = toy_series()
    uni = prepare_windows(s, TOY, (0,))
    n = len(uni.ends["test"])
    target = uni.target_bpm("test")
    rng = np.random.default_rng(1)
    results = {}
    for i in ("uni", "multi"):
        for k in ch.CHAPTER_KINDS:
            runs = []
            for seed in range(5):
                pred = target + rng.normal(0, 1 + 0.1 * seed, n)
                rmse = float(np.sqrt(np.mean((pred - target) ** 2)))
                runs.append(FitResult(rmse, pred, 5, 0.1, rmse, 2))
            results[i, k] = runs
    results["uni", "gru"] = results["uni", "lstm"]  # GRU は心拍数だけ
    out = ch.input_comparisons(results, uni, block=10)
    assert "gain_gru" not in out and "linear_gru" in out
    assert out["gain_lstm"].n == 5 and len(out["gain_lstm"].diffs) == 5
    assert out["gain_linear"].n == -(-n // 10)
    assert out["gain_linear"].diffs == ()
    assert out["persist_gru"].verdict in ("better", "worse", "cannot tell")
    _, sweep, spot = real_looking()
    sw = ch.sweep_comparisons(sweep, MissingConfig("mcar", 0.75))
    assert sw["mean_linear"].verdict == "cannot tell"  # 同じ値どうし
    sp = ch.spot_comparisons(spot)
    assert sp["md_lstm"].verdict == "cannot tell"
    assert sp["locf_lstm_persist"].verdict == "better"  # 4.3 < 4.4
    rows = ch.verdict_rows(sp)
    assert rows[0]["比較(A − B)"] == "マスク付き(LSTM) − LOCF(LSTM)"


def test_report_runs_with_tiny_settings(monkeypatch, capsys):
    s = toy_series()
    monkeypatch.setattr(ch, "load_recording", lambda: None)
    monkeypatch.setattr(ch, "derive_series", lambda rec, step: s)
    monkeypatch.setattr(ch, "CHAPTER_FORECAST", TOY)
    monkeypatch.setattr(ch, "CHAPTER_TRAIN", FAST)
    monkeypatch.setattr(ch, "CHAPTER_PATIENCE", 1)
    monkeypatch.setattr(ch, "CHAPTER_CANDIDATES", ((FAST, 1),))
    monkeypatch.setattr(ch, "CHAPTER_BLOCK", 10)
    monkeypatch.setattr(
        ch,
        "CHAPTER_MISSING",
        (MissingConfig("mcar", 0.25), MissingConfig("mcar", 0.75)),
    )
    monkeypatch.setattr(
        ch, "CHAPTER_BLOCK_MISSING", (MissingConfig("block", 0.3, 2.0),)
    )
    monkeypatch.setattr(ch, "CHAPTER_KINDS", ("linear", "rnn", "lstm", "gru"))
    ch.report(seed=0, n_seeds=2)
    out = capsys.readouterr().out
    for line in (
        "学習の設定の候補",
        "欠測なし: テスト RMSE [bpm]",
        "75% のランダムな欠測での比較",
        "心拍数のスポット測定",
        "判定(A は)",
        "主張の検査",
    ):
        assert line in out
