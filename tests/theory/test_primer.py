"""付録「はじめての PyTorch」のモジュール(medrnn.theory.primer)のテスト。"""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from medrnn.core.training import (
    TrainConfig,
    evaluate_loss,
    fit_with_dataloader,
)
from medrnn.theory import primer

SMALL = primer.VitalWindowsConfig(n_windows=32, seq_len=6, input_size=3)


def test_windows_have_batch_seq_len_input_size_shape():
    X, y = primer.make_vital_windows(SMALL)
    assert X.shape == (32, 6, 3) and y.shape == (32, 1)
    assert X.dtype == torch.float32 and torch.isfinite(X).all()


def test_windows_follow_the_generator():
    a = primer.make_vital_windows(SMALL, torch.Generator().manual_seed(3))
    b = primer.make_vital_windows(SMALL, torch.Generator().manual_seed(3))
    assert all(torch.equal(u, v) for u, v in zip(a, b))


def test_without_noise_the_target_continues_the_heart_rate_line():
    config = dataclasses.replace(SMALL, noise_std=0.0)
    X, y = primer.make_vital_windows(config)
    step = X[:, -1, 0] - X[:, -2, 0]  # 1 時刻の変化(窓ごとに一定)
    torch.testing.assert_close(y[:, 0], X[:, -1, 0] + step)
    torch.testing.assert_close(X[:, :, 1], -X[:, :, 0])  # 逆向きに動く


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        SMALL.seq_len = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_windows": 0},
        {"seq_len": -1},
        {"input_size": 1.5},
        {"seq_len": True},
        {"noise_std": -0.1},
        {"noise_std": math.nan},
        {"noise_std": math.inf},
    ],
)
def test_bad_config_raises_clear_error(kwargs):
    with pytest.raises(ValueError, match="してください"):
        primer.VitalWindowsConfig(**kwargs)


def test_window_linear_shapes_and_parameters():
    model = primer.WindowLinear(seq_len=6, input_size=3)
    X, _ = primer.make_vital_windows(SMALL)
    assert model(X).shape == (32, 1)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["linear.weight", "linear.bias"]
    assert primer.exercise_1(6, 3) == (19, 19)


def test_window_linear_is_a_weighted_sum_of_the_window():
    model = primer.WindowLinear(seq_len=6, input_size=3)
    X, _ = primer.make_vital_windows(SMALL)
    w, b = model.linear.weight, model.linear.bias
    expected = (X.reshape(32, -1) * w).sum(dim=1, keepdim=True) + b
    torch.testing.assert_close(model(X), expected)


@pytest.mark.parametrize("w, x, y", [(1.0, 2.0, 3.0), (-0.5, 1.5, 0.2)])
def test_autograd_matches_the_hand_derivative(w, x, y):
    loss, grad, by_hand = primer.autograd_example(w, x, y)
    assert loss == pytest.approx((w * x - y) ** 2)
    assert grad == pytest.approx(by_hand, rel=1e-6)


def test_backward_twice_adds_the_gradients():
    once, twice = primer.exercise_2(1.0, 2.0, 3.0)
    assert twice == pytest.approx(2 * once)


def test_plain_loop_lowers_the_loss_towards_the_noise_floor():
    config = dataclasses.replace(SMALL, n_windows=64)
    X, y = primer.make_vital_windows(config)
    model = primer.WindowLinear(config.seq_len, config.input_size)
    train = TrainConfig(epochs=15, batch_size=16, lr=0.05)
    losses = primer.fit_plain(model, X, y, train)
    assert len(losses) == 15 and losses[-1] < 0.2 * losses[0]
    X_new, y_new = primer.make_vital_windows(config)
    assert evaluate_loss(model, X_new, y_new) < 0.2 * losses[0]


def test_plain_loop_matches_the_package_dataloader_loop():
    """zero_grad と clear_grads、普通の Adam と融合版の違いだけなので、
    同じシードなら損失の列はほぼ同じ。"""
    X, y = primer.make_vital_windows(SMALL)
    train = TrainConfig(epochs=3, batch_size=8, lr=0.01, fused_adam=False)
    torch.manual_seed(5)
    plain = primer.fit_plain(primer.WindowLinear(6, 3), X, y, train)
    torch.manual_seed(5)
    model = primer.WindowLinear(6, 3)
    package = fit_with_dataloader(model, X, y, train).train_loss
    assert plain == pytest.approx(package, rel=1e-5)


def test_seeds_make_runs_repeatable():
    train = TrainConfig(epochs=2, batch_size=8)
    assert primer.exercise_3(SMALL, train) == (True, True)


def test_grad_before_backward_is_a_clear_error():
    with pytest.raises(ValueError, match="backward"):
        primer._grad_value(torch.tensor(1.0, requires_grad=True))
