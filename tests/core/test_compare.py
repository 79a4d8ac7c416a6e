"""比較の層(medrnn.core.compare)のテスト: 真実の分かっている合成データで。"""

import numpy as np
import pytest

from medrnn.core.claims import ClaimError, failed, require
from medrnn.core.compare import (
    compare_predictions,
    compare_seeds,
    describe,
    phrase,
    time_blocks,
)


def test_paired_t_matches_textbook_example():
    # 課題の例: RNN − 線形 AR のシードごとの差。t ≈ −2.7、区間は 0 を含む
    diffs = np.array([-0.0003, -0.0093, -0.0101, -0.0027, -0.0034])
    base = np.full(5, 0.05)
    c = compare_seeds(base + diffs, base, names=("RNN", "線形 AR"))
    assert c.mean_diff == pytest.approx(diffs.mean())
    assert c.sd_diff == pytest.approx(diffs.std(ddof=1))
    t = c.mean_diff / (c.sd_diff / np.sqrt(5))
    assert t == pytest.approx(-2.7, abs=0.1)
    assert c.wins == 5 and c.n == 5
    assert c.low < 0 < c.high and c.verdict == "cannot tell"
    # 区間の幅は t(4) の 97.5% 点 2.776 × 標準誤差
    assert c.high - c.mean_diff == pytest.approx(
        2.776 * c.sd_diff / np.sqrt(5), rel=1e-3
    )


def test_paired_t_finds_real_difference_and_direction():
    rng = np.random.default_rng(1)
    b = rng.normal(1.0, 0.3, size=8)  # シードごとのばらつきは大きいが
    a = b - 0.1 + rng.normal(0, 0.01, size=8)  # 対にすると差ははっきり
    assert compare_seeds(a, b).verdict == "better"
    assert compare_seeds(b, a).verdict == "worse"
    # 大きいほど良い量(正解率)では向きが逆になる
    assert compare_seeds(a, b, lower_is_better=False).verdict == "worse"


def test_paired_t_null_rate_is_nominal():
    rng = np.random.default_rng(0)
    calls = [
        compare_seeds(rng.normal(size=5), rng.normal(size=5)).verdict
        for _ in range(4000)
    ]
    rate = np.mean([v != "cannot tell" for v in calls])
    assert 0.035 < rate < 0.065, rate


def _clustered_errors(rng, n_groups, per_group, shift):
    group_effect = rng.normal(0, 1.0, size=n_groups)  # 患者ごとの誤差の大きさ
    groups = np.repeat(np.arange(n_groups), per_group)
    # 窓どうしが強く相関する(同じ患者の中ではほとんど同じ誤差)
    common = rng.normal(0, 1.0, size=n_groups)[groups]
    scale = np.exp(0.3 * group_effect)[groups]
    err_b = scale * (common + 0.1 * rng.normal(size=groups.size))
    noise = rng.normal(0, 1.0, size=n_groups)[groups]
    err_a = (
        scale * (common + 0.1 * rng.normal(size=groups.size)) * (1 + shift)
        + 0.3 * noise
    )
    return err_a, err_b, groups


def test_bootstrap_by_group_null_rate():
    rng = np.random.default_rng(3)
    verdicts = []
    for _ in range(300):
        groups = np.repeat(np.arange(30), 40)
        common = rng.normal(size=30)[groups]
        ea = (
            common
            + rng.normal(0, 0.3, size=30)[groups]
            + 0.05 * rng.normal(size=groups.size)
        )
        eb = (
            common
            + rng.normal(0, 0.3, size=30)[groups]
            + 0.05 * rng.normal(size=groups.size)
        )
        verdicts.append(
            compare_predictions(ea, eb, groups, n_boot=500, seed=1).verdict
        )
    rate = np.mean([v != "cannot tell" for v in verdicts])
    assert 0.01 < rate < 0.12, rate


def test_bootstrap_ignoring_dependence_would_be_overconfident():
    # 同じデータで、窓を独立に扱うと区間がずっと狭くなる
    # (だから患者ごとに抽出する)
    rng = np.random.default_rng(5)
    ea, eb, groups = _clustered_errors(rng, 20, 50, shift=0.0)
    by_patient = compare_predictions(ea, eb, groups, seed=0)
    by_window = compare_predictions(ea, eb, np.arange(groups.size), seed=0)
    assert (by_window.high - by_window.low) < 0.5 * (
        by_patient.high - by_patient.low
    )


def test_bootstrap_finds_real_difference():
    rng = np.random.default_rng(7)
    groups = np.repeat(np.arange(20), 30)
    truth = rng.normal(size=groups.size)
    eb = truth
    ea = 0.7 * truth  # 誤差が 3 割小さい予測
    c = compare_predictions(ea, eb, groups, names=("良い", "基準"))
    assert c.verdict == "better" and c.high < 0 and c.wins == 20
    rmse_a, rmse_b = np.sqrt(np.mean(ea**2)), np.sqrt(np.mean(eb**2))
    assert c.mean_diff == pytest.approx(rmse_a - rmse_b)
    mae = compare_predictions(ea, eb, groups, metric="mae")
    assert mae.mean_diff == pytest.approx(
        np.mean(np.abs(ea)) - np.mean(np.abs(eb))
    )


def test_bootstrap_averages_seeds_for_2d_errors():
    rng = np.random.default_rng(2)
    groups = np.repeat(np.arange(10), 5)
    ea = rng.normal(size=(3, 50))
    eb = rng.normal(size=50)
    c = compare_predictions(ea, eb, groups)
    expected = np.mean(np.sqrt(np.mean(ea**2, axis=1))) - np.sqrt(
        np.mean(eb**2)
    )
    assert c.mean_diff == pytest.approx(expected)


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(values_a=[1.0, np.nan], values_b=[1.0, 2.0]), "NaN"),
        (dict(values_a=[1.0], values_b=[1.0]), "2 以上"),
        (dict(values_a=[1.0, 2.0, 3.0], values_b=[1.0, 2.0]), "同じ長さ"),
        (dict(values_a=[1.0, 2.0], values_b=[1.0, 2.0], level=1.5), "level"),
    ],
)
def test_compare_seeds_rejects_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        compare_seeds(**bad)


def test_compare_predictions_rejects_bad_input():
    g = np.repeat([0, 1], 5)
    e = np.zeros(10)
    with pytest.raises(ValueError, match="NaN"):
        compare_predictions(np.full(10, np.inf), e, g)
    with pytest.raises(ValueError, match="形状"):
        compare_predictions(np.zeros(9), e, g)
    with pytest.raises(ValueError, match="1 つしか"):
        compare_predictions(e, e, np.zeros(10))
    with pytest.raises(ValueError, match="metric"):
        compare_predictions(e, e, g, metric="r2")


def test_time_blocks():
    assert time_blocks(10, 3).tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3]
    with pytest.raises(ValueError):
        time_blocks(5, 3)


def test_phrase_and_describe_follow_the_verdict():
    better = compare_seeds([1.0, 1.1, 0.9], [2.0, 2.1, 2.0], names=("A", "B"))
    tie = compare_seeds([1.0, 2.0, 0.0], [1.0, 1.0, 1.0])
    assert phrase(better, "小さい", "大きい", "差は分からない") == "小さい"
    assert (
        phrase(tie, "小さい", "大きい", "差は分からない") == "差は分からない"
    )
    text = describe(better, "bpm")
    assert "判定: 良い" in text and "3/3" in text and "bpm" in text


def test_claims_report_failures():
    assert failed({"a": True, "b": False}) == ["b"]
    require([])
    with pytest.raises(ClaimError, match="b"):
        require(failed({"a": True, "b": False}))


def test_results_are_plain_floats_for_glue():
    # glue は np.float64 を「np.float64(...)」という文字列にしてしまう
    c = compare_seeds([1.0, 1.2, 0.9], [1.1, 1.4, 1.0])
    b = compare_predictions(np.arange(10.0), np.ones(10), np.repeat([0, 1], 5))
    for r in (c, b):
        assert all(
            type(v) is float for v in (r.mean_diff, r.sd_diff, r.low, r.high)
        )
