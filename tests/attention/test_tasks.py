"""medrnn.attention.tasks と medrnn.attention.plots のテスト。"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import axis_labels, render_strict
from matplotlib.figure import Figure
from scipy import stats

from medrnn.attention import plots, tasks
from medrnn.core.models.attention import RecurrentAttentionRegressor
from medrnn.core.models.nets import ModelConfig
from medrnn.core.plotting import setup_japanese_font
from medrnn.core.training import TrainConfig


def test_scaling_keeps_scores_near_unit_spread() -> None:
    """√d_k で割ると、次元によらずスコアの標準偏差が 1 前後になる。"""
    for d in (4, 64):
        sd_raw, top_raw = tasks.score_spread(d, scaled=False, n=500)
        sd, top = tasks.score_spread(d, scaled=True, n=500)
        assert abs(sd_raw / np.sqrt(d) - 1) < 0.15
        assert abs(sd - 1) < 0.15 and top < top_raw


def test_layer_gaps_are_rounding_errors_and_mask_gives_zero() -> None:
    gaps = tasks.layer_gaps(d_model=8, nhead=2, seq_len=5)
    assert set(gaps) == {"output", "input_grad", "grad_relative"}
    assert max(gaps.values()) < 1e-4
    assert tasks.masked_weight(seq_len=6) == 0.0


def _random_simplex(rng, n, T):
    a = rng.random((n, T)) ** 3
    return a / a.sum(1, keepdims=True)


def test_farthest_weights_keep_the_prediction_and_beat_random_search() -> None:
    """見つけた重みは予測を ±eps に保ち、ランダムに探した重みより遠い。"""
    rng = np.random.default_rng(0)
    n, T, eps = 20, 5, 0.1
    alpha, s = _random_simplex(rng, n, T), rng.normal(size=(n, T))
    beta, tv = tasks.farthest_weights(alpha, s, eps, chunk=7)
    assert np.allclose(beta.sum(1), 1) and np.all(beta >= -1e-12)
    level = (alpha * s).sum(1)
    assert np.all(np.abs((beta * s).sum(1) - level) <= eps + 1e-9)
    assert np.allclose(tv, 0.5 * np.abs(beta - alpha).sum(1))
    trials = _random_simplex(rng, 5000, T)  # ランダムな候補
    for i in range(n):
        ok = np.abs(trials @ s[i] - level[i]) <= eps
        best = 0.5 * np.abs(trials[ok] - alpha[i]).sum(1).max(initial=0)
        assert tv[i] >= best - 1e-9


def test_farthest_weights_with_equal_scores_reach_a_vertex() -> None:
    """どの時刻のスコアも同じなら、どんな重みでも予測は同じで、TV は最大。"""
    alpha = np.full((1, 4), 0.25)
    beta, tv = tasks.farthest_weights(alpha, np.ones((1, 4)), eps=0.0)
    assert tv[0] == pytest.approx(0.75)
    assert beta.max() == pytest.approx(1.0)


def test_farthest_weights_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="形状"):
        tasks.farthest_weights(np.ones((2, 3)) / 3, np.ones((2, 4)), 0.1)
    with pytest.raises(ValueError, match="eps"):
        tasks.farthest_weights(np.ones((2, 3)) / 3, np.ones((2, 3)), -1.0)


def test_rank_correlation_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(6, 9)), rng.normal(size=(6, 9))
    expected = [stats.spearmanr(x, y).statistic for x, y in zip(a, b)]
    assert np.allclose(tasks.rank_correlation(a, b), expected)


def test_permuted_weights_keep_each_window_values() -> None:
    alpha = torch.softmax(torch.randn(4, 6), dim=1)
    perms = tasks.permuted_weights(alpha, n_perm=3)
    assert perms.shape == (3, 4, 6)
    for p in perms:
        assert torch.equal(p.sort(1).values, alpha.sort(1).values)


def _small_model() -> RecurrentAttentionRegressor:
    config = ModelConfig(kind="gru", hidden_size=6, output_size=3)
    return RecurrentAttentionRegressor(config, attention_size=4)


def test_weight_swaps_reproduce_and_scores_are_linear() -> None:
    """元の重みを渡すと元の予測。予測は s_t の重み付き和。"""
    model = _small_model().eval()
    X = torch.randn(5, 8, 1)
    h, alpha = tasks.hidden_and_weights(model, X)
    with torch.no_grad():
        expected = model(X).numpy()
    assert np.allclose(tasks.predict_with_weights(model, h, alpha), expected)
    s = tasks.output_scores(model, h, step=2)
    assert np.allclose((alpha.numpy() * s).sum(1), expected[:, 1], atol=1e-6)
    imp = tasks.occlusion_importance(model, X, step=2)
    assert imp.shape == (5, 8) and np.all(imp >= 0)


def test_train_models_is_reproducible_and_reports_costs() -> None:
    X = {g: torch.randn(64, 6, 1) for g in ("train", "val", "test")}
    y = {g: X[g].mean(1).repeat(1, 3) for g in ("train", "val")}
    train = TrainConfig(epochs=2, batch_size=32, lr=1e-2)
    runs = tasks.train_models({"m": _small_model}, X, y, [0, 0], train, 1)
    a, b = runs["m"]
    assert np.array_equal(a.test_pred_z, b.test_pred_z)  # 同じシード
    assert a.test_pred_z.shape == (64, 3) and a.n_params > 0
    row = tasks.cost_row("m", runs["m"])
    assert set(row) == {"モデル", "パラメータ数", "学習 [s]", "エポック"}
    with pytest.raises(ValueError, match="seeds"):
        tasks.train_models({"m": _small_model}, X, y, [], train, 1)


@pytest.fixture
def _font():
    setup_japanese_font()


MIN = np.arange(-55, 1, 5.0)


@pytest.mark.parametrize(
    "make, units",
    [
        (
            lambda: plots.plot_attention_windows(
                MIN,
                120 + np.random.default_rng(0).normal(size=(2, 12)),
                np.full((2, 12), 1 / 12),
                ["上昇", "下降"],
            ),
            ("[分]", "[mg/dL]"),
        ),
        (
            lambda: plots.plot_weight_matrix(np.tril(np.ones((12, 12))), MIN),
            ("[分]",),
        ),
        (
            lambda: plots.plot_weight_pair(
                MIN, np.full(12, 1 / 12), np.eye(12)[0]
            ),
            ("[分]",),
        ),
    ],
)
def test_plots_return_figures_with_units(_font, make, units) -> None:
    fig = make()
    assert isinstance(fig, Figure)
    render_strict(fig)
    for unit in units:
        assert unit in axis_labels(fig)


def test_plots_reject_bad_shapes() -> None:
    with pytest.raises(ValueError, match="形状"):
        plots.plot_attention_windows(
            MIN, np.zeros((2, 5)), np.zeros((2, 5)), ["a", "b"]
        )
    with pytest.raises(ValueError, match="形状"):
        plots.plot_weight_matrix(np.zeros((3, 3)), MIN)
