"""勾配ノルムの測定と勾配クリッピングの記録を確かめる。"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from medrnn.core.models.nets import ModelConfig, RecurrentRegressor
from medrnn.core.models.scratch import ScratchRecurrent
from medrnn.theory.gradients import (
    input_gradient_norms,
    saturated_fraction,
    scale_recurrent_weights,
    sgd_update_norms,
)

MSE = nn.functional.mse_loss


def small_rnn(seed: int = 0, hidden_size: int = 8) -> RecurrentRegressor:
    """テスト用の小さな RNN 回帰モデル。"""
    torch.manual_seed(seed)
    return RecurrentRegressor(ModelConfig(kind="rnn", hidden_size=hidden_size))


def batch(seq_len: int = 20, n: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """乱数の入力と正解。"""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, seq_len, 1, generator=g)
    return x, torch.randn(n, 1, generator=g)


def test_one_norm_per_time_step() -> None:
    """時刻の数だけ、有限で 0 以上の値を返す。"""
    x, y = batch(seq_len=12)
    norms = input_gradient_norms(small_rnn(), x, y, MSE)
    assert norms.shape == (12,)
    assert np.all(np.isfinite(norms)) and np.all(norms >= 0)


def test_matches_autograd_by_hand() -> None:
    """autograd で直接求めた ∂L/∂x_t のノルムと一致する。"""
    model, (x, y) = small_rnn(), batch(seq_len=6)
    x_leaf = x.clone().requires_grad_()
    MSE(model(x_leaf), y).backward()
    expected = x_leaf.grad.norm(dim=(0, 2)).numpy()
    np.testing.assert_allclose(
        input_gradient_norms(model, x, y, MSE), expected, rtol=1e-6
    )


def test_does_not_touch_parameter_grads() -> None:
    """重みの .grad は変えない(学習の途中で呼んでも邪魔をしない)。"""
    model, (x, y) = small_rnn(), batch()
    input_gradient_norms(model, x, y, MSE)
    assert all(p.grad is None for p in model.parameters())


def test_small_recurrent_weights_make_gradients_vanish() -> None:
    """W_hh が小さいと、遠い時刻の勾配は近い時刻より桁違いに小さい。"""
    model, (x, y) = small_rnn(), batch(seq_len=30)
    scale_recurrent_weights(model, 0.3)
    norms = input_gradient_norms(model, x, y, MSE)
    assert norms[0] < 1e-6 * norms[-1]
    # 損失に近いほど大きい
    assert np.all(np.diff(np.log(norms[:-1] + 1e-300)) > 0)


def test_large_recurrent_weights_make_gradients_explode() -> None:
    """W_hh を大きくすると、遠い時刻の勾配のほうが大きくなる。"""
    model, (x, y) = small_rnn(hidden_size=32), batch(seq_len=30)
    scale_recurrent_weights(model, 6.0)
    norms = input_gradient_norms(model, x * 0.1, y, MSE)
    assert norms[0] > 10 * norms[-1]


def test_works_with_scratch_model() -> None:
    """スクラッチの多層 GRU にも使える。

    最後の時刻の出力 1 つを予測とみなす。
    """
    model = ScratchRecurrent("gru", 1, 4, num_layers=2)
    x, y = batch(seq_len=5)
    norms = input_gradient_norms(lambda z: model(z)[0][:, -1, :1], x, y, MSE)
    assert norms.shape == (5,)


def test_scale_recurrent_weights_only_scales_w_hh() -> None:
    """weight_hh だけが factor 倍になり、他は変わらない。"""
    model = small_rnn()
    before = copy.deepcopy(model.state_dict())
    scale_recurrent_weights(model, 2.0)
    for name, value in model.state_dict().items():
        factor = 2.0 if "weight_hh" in name else 1.0
        torch.testing.assert_close(value, before[name] * factor)


def test_clipping_bounds_the_update() -> None:
    """クリッピングありなら ‖Δθ‖ ≤ lr × max_norm、なしなら lr × ‖g‖。"""
    x, y = batch(seq_len=15)
    plain_model, clipped_model = small_rnn(), small_rnn()
    for model in (plain_model, clipped_model):
        scale_recurrent_weights(model, 5.0)
    plain = sgd_update_norms(plain_model, x, y, steps=5, lr=0.1, loss_fn=MSE)
    clipped = sgd_update_norms(
        clipped_model, x, y, steps=5, lr=0.1, max_norm=0.5, loss_fn=MSE
    )
    assert plain.grad_norm[0] == pytest.approx(clipped.grad_norm[0])
    np.testing.assert_allclose(
        plain.update_norm, 0.1 * np.array(plain.grad_norm), rtol=1e-4
    )
    assert max(clipped.update_norm) <= 0.1 * 0.5 * (1 + 1e-4)
    assert len(plain.loss) == len(clipped.loss) == 5


def test_bad_inputs_raise_clear_errors() -> None:
    """間違った入力は、何が悪いかを書いた ValueError になる。"""
    model, (x, y) = small_rnn(), batch()
    with pytest.raises(ValueError, match="形状"):
        input_gradient_norms(model, x[:, :, 0], y, MSE)
    with pytest.raises(ValueError, match="y の数"):
        input_gradient_norms(model, x, y[:3], MSE)
    with pytest.raises(ValueError, match="weight_hh"):
        scale_recurrent_weights(nn.Linear(2, 2), 2.0)
    with pytest.raises(ValueError, match="factor"):
        scale_recurrent_weights(model, math.nan)
    with pytest.raises(ValueError, match="max_norm"):
        sgd_update_norms(model, x, y, steps=1, lr=0.1, max_norm=0.0)
    with pytest.raises(ValueError, match="steps"):
        sgd_update_norms(model, x, y, steps=0, lr=0.1)


def test_gradient_and_step_plots_return_figures() -> None:
    """勾配の図と更新量の図は Figure を返し、縦軸は対数。"""
    from matplotlib.figure import Figure

    from medrnn.core.plotting import (
        figure_row,
        plot_gradient_by_distance,
        plot_step_curves,
    )

    fig, axes = figure_row(2)
    plot_gradient_by_distance({"a": np.array([1e-6, 1e-3, 1.0])}, ax=axes[0])
    plot_step_curves(
        {"b": [3.0, 2.0, 1.0]}, ax=axes[1], hline=1.5, hline_label="上限"
    )
    assert isinstance(fig, Figure)
    assert axes[0].get_yscale() == "log" and axes[1].get_yscale() == "log"
    with pytest.raises(ValueError, match="長さ 2 以上"):
        plot_gradient_by_distance({"a": np.array([1.0])})
    with pytest.raises(ValueError, match="ncols"):
        figure_row(0)


def test_saturated_fraction() -> None:
    """W_hh を大きくすると tanh が飽和するユニットが増える。0〜1 の値。"""
    model, (x, _) = small_rnn(hidden_size=16), batch(seq_len=20)
    before = saturated_fraction(model.recurrent, x)
    scale_recurrent_weights(model, 20.0)
    after = saturated_fraction(model.recurrent, x)
    assert 0 <= before < after <= 1
    with pytest.raises(ValueError, match="threshold"):
        saturated_fraction(model.recurrent, x, threshold=1.0)
