"""medrnn.vitals.missing: 欠測のマスク、埋め方、経過時間、
未来の値が混ざらないこと。
"""

import numpy as np
import pytest

from medrnn.core.data import window_positions
from medrnn.vitals import missing

NAN = np.nan
# 手で作った 1 チャネルの例: 時刻 0, 3, 5 に観測がある
VALUES = np.array([[1.0], [NAN], [NAN], [4.0], [NAN], [6.0], [NAN]])
MASK = np.isfinite(VALUES)
FILL = np.array([0.0])


def test_nearest_observed_before_and_after():
    assert missing.nearest_observed(MASK)[:, 0].tolist() == [
        0,
        0,
        0,
        3,
        3,
        5,
        5,
    ]
    after = missing.nearest_observed(MASK, after=True)
    assert after[:, 0].tolist() == [0, 3, 3, 3, 5, 5, 7]
    # 観測が 1 つもないチャネル: 以前は -1、以後は n_steps
    none = np.zeros((4, 1), dtype=bool)
    assert missing.nearest_observed(none)[:, 0].tolist() == [-1] * 4
    assert missing.nearest_observed(none, after=True)[:, 0].tolist() == [4] * 4
    rng = np.random.default_rng(3)
    mask = rng.random((30, 3)) < 0.3
    nxt = missing.nearest_observed(mask, after=True)
    for t in range(30):
        for c in range(3):
            later = np.flatnonzero(mask[t:, c])
            assert nxt[t, c] == (t + later[0] if len(later) else 30)


def test_locf_and_mean_fill():
    assert missing.locf(VALUES, MASK, FILL)[:, 0].tolist() == [
        1,
        1,
        1,
        4,
        4,
        6,
        6,
    ]
    assert missing.mean_fill(VALUES, MASK, np.array([9.0]))[:, 0].tolist() == [
        1,
        9,
        9,
        4,
        9,
        6,
        9,
    ]
    late = np.array([[NAN], [2.0]])  # 最初の観測より前は fill
    assert missing.locf(late, np.isfinite(late), np.array([7.0]))[
        :, 0
    ].tolist() == [7, 2]


def test_time_since_observed_hand_made():
    delta = missing.time_since_observed(MASK, step_s=0.5)[:, 0]
    np.testing.assert_allclose(delta, [0, 0.5, 1.0, 0, 0.5, 0, 0.5])
    first_missing = np.array([[False], [False], [True]])
    np.testing.assert_allclose(
        missing.time_since_observed(first_missing, 2.0)[:, 0], [2, 4, 0]
    )


def test_interpolate_causal_uses_only_values_up_to_window_end():
    # 窓の終わりが 2: 時刻 3 の 4.0 はまだ分からないので LOCF で 1 を延ばす
    out = missing.interpolate_causal(VALUES, MASK, np.array([2, 3]), 3, FILL)
    np.testing.assert_allclose(out[0, :, 0], [1, 1, 1])
    # 窓の終わりが 3: 時刻 3 が分かったので 1 → 4 を直線で結ぶ
    np.testing.assert_allclose(out[1, :, 0], [2, 3, 4])


def test_no_future_leakage_in_causal_imputations():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(60, 2))
    mask = missing.mcar_mask(values.shape, 0.5, rng)
    ends = np.arange(9, 50)
    changed = values.copy()
    changed[50:] += 100.0  # 最後の窓より後の値だけを大きく変える
    for strategy in ("mean", "locf", "interp", "mask_delta"):
        a = missing.impute_windows(
            strategy, values, mask, ends, 10, np.zeros(2), 0.5
        )
        b = missing.impute_windows(
            strategy, changed, mask, ends, 10, np.zeros(2), 0.5
        )
        np.testing.assert_array_equal(a, b, err_msg=strategy)
    # 全体で補間する方法は未来の値が混ざる(だから比較用)
    a = missing.impute_windows(
        "leaky", values, mask, ends, 10, np.zeros(2), 0.5
    )
    b = missing.impute_windows(
        "leaky", changed, mask, ends, 10, np.zeros(2), 0.5
    )
    assert not np.array_equal(a, b)


def test_observed_values_are_kept_by_every_strategy():
    rng = np.random.default_rng(1)
    values = rng.normal(size=(40, 3))
    mask = missing.mcar_mask(values.shape, 0.3, rng)
    ends = np.arange(4, 40)
    pos = window_positions(ends, 5)
    for strategy in missing.STRATEGIES:
        out = missing.impute_windows(
            strategy, values, mask, ends, 5, np.zeros(3), 1.0
        )[..., :3]
        np.testing.assert_allclose(out[mask[pos]], values[pos][mask[pos]])


def test_mask_delta_features_shape_and_range():
    feats = missing.mask_delta_features(
        VALUES, MASK, FILL, 1.0, delta_cap_s=1.5
    )
    assert feats.shape == (7, 3)
    np.testing.assert_array_equal(feats[:, 1], MASK[:, 0].astype(float))
    assert feats[:, 2].max() <= 1.0
    np.testing.assert_allclose(feats[2, 2], 1.0)  # 2 秒 → 1.5 秒で頭打ち


def test_mask_generators_rates_and_seeds():
    rng = np.random.default_rng(0)
    m = missing.mcar_mask((5000, 2), 0.3, rng)
    assert m.dtype == bool and abs((~m).mean() - 0.3) < 0.02
    b1 = missing.block_mask((2000, 3), 0.5, 40, np.random.default_rng(3))
    b2 = missing.block_mask((2000, 3), 0.5, 40, np.random.default_rng(3))
    np.testing.assert_array_equal(b1, b2)
    assert np.all((~b1).mean(axis=0) >= 0.5)
    assert np.all((~b1).mean(axis=0) < 0.6)
    runs = np.diff(np.flatnonzero(np.diff(b1[:, 0].astype(int))))
    assert runs.mean() > 10  # 塊になっている


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: missing.mcar_mask((3, 1), 1.0, np.random.default_rng()),
            "rate",
        ),
        (
            lambda: missing.block_mask(
                (3, 1), 0.5, 0.5, np.random.default_rng()
            ),
            "mean_block",
        ),
        (lambda: missing.locf(VALUES, MASK[:, 0], FILL), "mask"),
        (lambda: missing.locf(VALUES[:3], MASK, FILL), "形状"),
        (
            lambda: missing.locf(
                np.full((2, 1), NAN), np.ones((2, 1), bool), FILL
            ),
            "NaN",
        ),
        (lambda: missing.time_since_observed(MASK, 0.0), "step_s"),
        (
            lambda: missing.impute_windows(
                "zero", VALUES, MASK, np.array([3]), 2, FILL, 1.0
            ),
            "strategy",
        ),
        (lambda: missing.nearest_observed(MASK.astype(int)), "bool"),
    ],
)
def test_bad_input_raises_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
