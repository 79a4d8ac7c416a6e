import math

import numpy as np
import pytest
import torch

from medrnn.core.data import (
    LSTM_SINE,
    RNN_SINE,
    SineConfig,
    Standardizer,
    make_noisy_sine,
    make_vitals_example,
    make_windows,
    split_ordered,
)


def test_rnn_and_lstm_sine_settings_match_the_articles():
    t, y = make_noisy_sine(RNN_SINE)
    assert t.shape == y.shape == (200,)
    assert t[0] == 0 and t[-1] == pytest.approx(10 * math.pi)
    t2, y2 = make_noisy_sine(LSTM_SINE)
    assert y2.shape == (1000,)
    np.testing.assert_allclose(t2, np.arange(0, 100, 0.1), atol=1e-9)
    assert y.dtype == np.float32


def test_noise_has_the_configured_spread_and_is_seeded():
    cfg = SineConfig(n_points=20000, t_stop=100.0, noise_std=0.2, seed=3)
    t, y = make_noisy_sine(cfg)
    assert np.std(y - np.sin(t)) == pytest.approx(0.2, rel=0.03)
    assert cfg.noise_variance == pytest.approx(0.04)
    np.testing.assert_array_equal(y, make_noisy_sine(cfg)[1])
    assert not np.array_equal(
        y, make_noisy_sine(SineConfig(n_points=20000, t_stop=100.0, seed=4))[1]
    )


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        ({"n_points": 1}, "n_points"),
        ({"t_stop": -1.0}, "t_stop"),
        ({"noise_std": -0.1}, "noise_std"),
        ({"noise_std": float("nan")}, "noise_std"),
        ({"seed": -1}, "seed"),
    ],
)
def test_sine_config_rejects_bad_values(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        SineConfig(**kwargs)


def test_split_is_ordered_and_80_20():
    series = np.arange(200, dtype=np.float32)
    train, test = split_ordered(series, 0.8)
    assert len(train) == 160 and len(test) == 40
    assert train[-1] + 1 == test[0]


@pytest.mark.parametrize("ratio", [0.0, 1.0, -0.5, 1.5])
def test_split_rejects_ratio_outside_open_interval(ratio):
    with pytest.raises(ValueError, match="train_ratio"):
        split_ordered(np.arange(10.0), ratio)


def test_split_rejects_a_ratio_that_empties_one_side():
    with pytest.raises(ValueError, match="空"):
        split_ordered(np.arange(3.0), 0.1)


def test_windows_shapes_and_targets():
    X, y = make_windows(np.arange(15, dtype=np.float32), 10)
    assert X.shape == (5, 10, 1) and y.shape == (5, 1)
    assert X.dtype == torch.float32
    torch.testing.assert_close(
        X[0, :, 0], torch.arange(10, dtype=torch.float32)
    )
    assert y[0, 0] == 10 and y[-1, 0] == 14
    torch.testing.assert_close(
        X[1:, -1, 0], y[:-1, 0]
    )  # 次の窓の最後 = 前の窓の正解


def test_rnn_recipe_window_counts():
    _, y = make_noisy_sine(RNN_SINE)
    train, test = split_ordered(y, 0.8)
    assert len(make_windows(train, 10)[0]) == 150
    assert len(make_windows(test, 10)[0]) == 30


@pytest.mark.parametrize(
    "series, seq_len, msg",
    [
        (np.arange(10.0), 10, "作れません"),
        (np.arange(10.0), 0, "seq_len"),
        (np.arange(10.0), -3, "seq_len"),
        (np.arange(10.0), 2.5, "seq_len"),
        (np.array([1.0, np.nan, 2.0, 3.0]), 2, "NaN"),
        (np.array([1.0, np.inf, 2.0, 3.0]), 2, "NaN"),
        (np.zeros((5, 2)), 2, "1 次元"),
    ],
)
def test_windows_reject_bad_input(series, seq_len, msg):
    with pytest.raises(ValueError, match=msg):
        make_windows(series, seq_len)


def test_standardizer_uses_training_statistics_only():
    values, names = make_vitals_example(48, seed=0)
    assert values.shape == (48, 2) and "bpm" in names[0] and "℃" in names[1]
    train, test = values[:36], values[36:]
    scaler = Standardizer.fit(train)
    z = scaler.transform(train)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-12)
    np.testing.assert_allclose(
        scaler.inverse_transform(scaler.transform(test)), test
    )
    np.testing.assert_allclose(scaler.mean, train.mean(axis=0))


@pytest.mark.parametrize(
    "bad, msg",
    [
        (np.zeros(5), "形状"),
        (np.ones((5, 2)), "分散が 0"),
        (np.array([[1.0, 2.0], [np.nan, 3.0], [2.0, 1.0]]), "NaN"),
    ],
)
def test_standardizer_rejects_bad_input(bad, msg):
    with pytest.raises(ValueError, match=msg):
        Standardizer.fit(bad)


# ---- 窓の切り出しの関数群(本書のすべての窓の元) ----


@pytest.mark.parametrize("channels", [None, 3])
@pytest.mark.parametrize(
    "seq_len, horizon, stride, start, stop",
    [
        (4, 1, 1, 0, None),
        (5, 3, 2, 2, 27),
        (1, 1, 1, 0, 2),
        (7, 6, 5, 3, 30),
    ],
)
def test_forecast_windows_match_plain_indexing(
    channels, seq_len, horizon, stride, start, stop
):
    from medrnn.core.data import forecast_windows

    rng = np.random.default_rng(0)
    shape = (30,) if channels is None else (30, channels)
    x = rng.normal(size=shape)
    X, target = forecast_windows(x, seq_len, horizon, start, stop, stride)
    end = 30 if stop is None else stop
    firsts = list(range(start, end - seq_len - horizon + 1, stride))
    assert len(X) == len(firsts) > 0
    for i, f in enumerate(firsts):
        np.testing.assert_array_equal(X[i], x[f : f + seq_len])
        assert target[i] == f + seq_len - 1 + horizon
        assert start <= target[i] < end
    assert X.flags["C_CONTIGUOUS"]


def test_window_ends_and_positions_agree_with_windows_at():
    from medrnn.core.data import window_ends, window_positions, windows_at

    x = np.arange(20.0)
    ends = window_ends(3, 18, seq_len=4, horizon=2, stride=3)
    np.testing.assert_array_equal(ends, [6, 9, 12, 15])
    np.testing.assert_array_equal(
        windows_at(x, ends, 4), x[window_positions(ends, 4)]
    )
    assert window_ends(0, 5, seq_len=4, horizon=2).size == 0
    assert windows_at(x[:2], np.zeros(0, dtype=int), 4).shape == (0, 4)


@pytest.mark.parametrize(
    "call, msg",
    [
        (lambda f: f.window_ends(0, 10, 0, 1), "seq_len"),
        (lambda f: f.window_ends(0, 10, 3, 0), "horizon"),
        (lambda f: f.window_ends(0, 10, 3, 1, 1.5), "stride"),
        (lambda f: f.forecast_windows(np.zeros(10), 3, 1, 5, 3), "start"),
        (lambda f: f.forecast_windows(np.zeros(10), 3, 1, 0, 11), "stop"),
        (lambda f: f.forecast_windows(np.zeros(10), 8, 3), "作れません"),
        (lambda f: f.windows_at(np.zeros(10), np.array([12]), 3), "はみ出す"),
        (lambda f: f.window_positions(np.array([1]), 3), "ends"),
    ],
)
def test_window_family_rejects_bad_settings(call, msg):
    import medrnn.core.data as f

    with pytest.raises(ValueError, match=msg):
        call(f)
