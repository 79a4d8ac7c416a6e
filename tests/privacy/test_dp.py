"""medrnn.privacy.dp: DP-SGD の勾配の作り方、Opacus との一致、ε の会計。"""

import math

import numpy as np
import pytest
import torch

from medrnn.core.models.nets import ModelConfig
from medrnn.privacy import dp

TINY = ModelConfig(kind="gru", hidden_size=4, output_size=2)


def _windows(n: int = 64, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 6, 1, generator=g)
    return X, 0.5 * X[:, -2:, 0]


def test_privatize_without_noise_clips_each_sample_then_averages():
    per_sample = torch.tensor([[3.0, 4.0], [0.3, 0.4]])  # ノルム 5 と 0.5
    out = dp.privatize_gradients(per_sample, 1.0, 0.0, expected_batch_size=2)
    expected = (torch.tensor([0.6, 0.8]) * 5 / (5 + 1e-6) + per_sample[1]) / 2
    torch.testing.assert_close(out, expected)


def test_privatize_adds_noise_with_std_sigma_times_c():
    per_sample = torch.zeros(1, 20000)
    g = torch.Generator().manual_seed(0)
    out = dp.privatize_gradients(per_sample, 2.0, 1.5, 1.0, generator=g)
    assert out.std().item() == pytest.approx(3.0, rel=0.03)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_privatize_matches_opacus(kind):
    X, y = _windows()
    model = dp.dp_forecaster(
        ModelConfig(kind=kind, hidden_size=4, output_size=2)
    )
    grad, per_sample = dp.opacus_clipped_gradient(model, X, y, 0.1)
    mine = dp.privatize_gradients(per_sample, 0.1, 0.0, len(X))
    torch.testing.assert_close(mine, grad, rtol=1e-5, atol=1e-7)
    assert (per_sample.norm(dim=1) > 0.1).any()  # 切り詰めが効いている


def test_dp_forecaster_has_the_same_output_shape():
    model = dp.dp_forecaster(TINY)
    assert type(model.recurrent).__name__ == "DPGRU"
    assert model(torch.zeros(3, 6, 1)).shape == (3, 2)


@pytest.fixture(scope="module")
def runs():
    X, y = _windows(128)
    return {
        s: dp.train_dp(
            X, y, TINY, dp.DPConfig(s, epochs=2, batch_size=32), seed=0
        )
        for s in (0.8, 1.6)
    }


def test_epsilon_is_what_the_accountant_recomputes(runs):
    for sigma, run in runs.items():
        assert run.steps == 2 * 4 and run.sample_rate == pytest.approx(0.25)
        again = dp.rdp_epsilon(sigma, run.sample_rate, run.steps, dp.DELTA)
        assert run.epsilon == pytest.approx(again, rel=1e-12)


def test_more_noise_means_smaller_epsilon(runs):
    assert runs[1.6].epsilon < runs[0.8].epsilon
    assert all(np.isfinite(r.history.train_loss).all() for r in runs.values())


def test_train_dp_is_reproducible():
    X, y = _windows(64)
    config = dp.DPConfig(1.0, epochs=1, batch_size=16)
    a = dp.train_dp(X, y, TINY, config, seed=3).model.state_dict()
    b = dp.train_dp(X, y, TINY, config, seed=3).model.state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"noise_multiplier": -1.0},
        {"noise_multiplier": float("nan")},
        {"noise_multiplier": 1.0, "max_grad_norm": 0.0},
        {"noise_multiplier": 1.0, "delta": 1.0},
        {"noise_multiplier": 1.0, "epochs": 0},
        {"noise_multiplier": 1.0, "lr": float("inf")},
    ],
)
def test_dp_config_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        dp.DPConfig(**kwargs)


def test_group_privacy_and_membership_bound():
    assert dp.group_epsilon(2.0, 1e-5, 1) == pytest.approx((2.0, 1e-5))
    eps, delta = dp.group_epsilon(0.5, 1e-5, 3)
    assert eps == 1.5 and delta == pytest.approx(3 * math.exp(1.0) * 1e-5)
    assert dp.log10_group_delta(0.5, 1e-5, 3) == pytest.approx(
        math.log10(delta)
    )
    assert dp.membership_bound(0.0, 0.0, 0.05) == pytest.approx(0.05)
    assert dp.membership_bound(50.0, 1e-5, 0.05) == 1.0
    with pytest.raises(ValueError):
        dp.group_epsilon(1.0, 1e-5, 0)
