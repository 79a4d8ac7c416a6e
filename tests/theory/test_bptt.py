"""medrnn.theory.bptt のテスト。

手計算の RNN ステップ・BPTT・勾配の消失と爆発。
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from medrnn.core.plotting import (
    plot_norms_by_lag,
    plot_unrolled_rnn,
    setup_japanese_font,
)
from medrnn.theory.bptt import (
    autograd_whh_grad,
    bptt_table,
    hidden_state_grads,
    jacobian_norms_over_time,
    make_scaled_rnn,
    make_tiny_rnn,
    manual_rnn_forward,
    manual_rnn_step,
    step_shape_table,
    whh_grad_terms,
)


@pytest.fixture()
def rnn() -> nn.RNN:
    torch.manual_seed(0)
    return nn.RNN(input_size=2, hidden_size=5, batch_first=True)


def test_manual_step_matches_nn_rnn_one_step(rnn: nn.RNN) -> None:
    x = torch.randn(3, 1, 2)  # (batch, seq_len=1, input_size)
    h0 = torch.randn(1, 3, 5)  # (num_layers, batch, hidden_size)
    output, h_n = rnn(x, h0)
    h1 = manual_rnn_step(rnn, x[:, 0, :], h0[0])
    assert h1.shape == (3, 5)
    torch.testing.assert_close(h1, output[:, 0, :])
    torch.testing.assert_close(h1, h_n[0])


def test_manual_forward_matches_nn_rnn_all_steps(rnn: nn.RNN) -> None:
    x = torch.randn(4, 7, 2)
    output, _ = rnn(x)
    states = manual_rnn_forward(rnn, x)
    assert len(states) == 8
    assert torch.count_nonzero(states[0]) == 0  # 初期状態は 0
    torch.testing.assert_close(torch.stack(states[1:], dim=1), output)


def test_step_shape_table_lists_computed_shapes(rnn: nn.RNN) -> None:
    table = step_shape_table(rnn, batch_size=3)
    lines = table.splitlines()
    assert len(lines) == 2 + 8  # 見出し + 区切り + 8 行(Markdown の表)
    assert "| `rnn.weight_hh_l0` | `(5, 5)` |" in lines
    assert lines[-1].endswith("| `(3, 5)` |")  # h_t: (batch, hidden_size)


def test_hidden_state_grads_match_backward_on_intermediate_states() -> None:
    rnn, head = make_tiny_rnn(hidden_size=3, seed=1)
    x = torch.randn(2, 6, 1)
    target = torch.randn(2, 1)
    trace = hidden_state_grads(rnn, head, x, target)
    assert trace.states.shape == trace.state_grads.shape == (7, 2, 3)
    # 最後の状態の勾配は出力層から直接計算できる: ∂L/∂h_T = ∂L/∂ŷ · W_hy
    y_hat = head(trace.states[-1])
    expected = (2 * (y_hat - target) / target.numel()) @ head.weight
    torch.testing.assert_close(trace.state_grads[-1], expected.detach())
    # 1 つ前へは連鎖律: ∂L/∂h_{T-1} = ∂L/∂h_T · diag(1 - h_T²) W_hh
    back = (
        trace.state_grads[-1] * (1 - trace.states[-1] ** 2)
    ) @ rnn.weight_hh_l0
    torch.testing.assert_close(trace.state_grads[-2], back.detach())


def test_sum_of_per_step_terms_equals_autograd_whh_grad() -> None:
    rnn, head = make_tiny_rnn(hidden_size=4, seed=2)
    x = torch.randn(3, 8, 1)
    target = torch.randn(3, 1)
    terms = whh_grad_terms(hidden_state_grads(rnn, head, x, target))
    assert terms.shape == (8, 4, 4)
    assert (
        torch.count_nonzero(terms[0]) == 0
    )  # h_0 = 0 なので時刻 1 の寄与は 0
    torch.testing.assert_close(
        terms.sum(dim=0), autograd_whh_grad(rnn, head, x, target)
    )


def test_bptt_table_has_one_row_per_state() -> None:
    rnn, head = make_tiny_rnn(hidden_size=3, seed=0)
    trace = hidden_state_grads(
        rnn, head, torch.randn(1, 6, 1), torch.zeros(1, 1)
    )
    lines = bptt_table(trace).splitlines()
    assert len(lines) == 2 + 7  # 見出し + 区切り + h_0..h_6
    assert (
        lines[2].startswith("| 0 |")
        and lines[3].split("|")[3].strip() == "0.000e+00"
    )


def test_jacobian_norms_match_autograd_jacobian() -> None:
    rnn = make_scaled_rnn(hidden_size=4, scale=1.3, seed=0)
    x = torch.randn(1, 5, 1, dtype=torch.float64)
    rnn = rnn.double()
    states = manual_rnn_forward(rnn, x)

    def h_last_from(h2: torch.Tensor) -> torch.Tensor:  # h_2 → h_5
        h = h2.unsqueeze(0)
        for t in range(2, 5):
            h = manual_rnn_step(rnn, x[:, t, :], h)
        return h[0]

    jac = torch.autograd.functional.jacobian(h_last_from, states[2][0])
    norms = jacobian_norms_over_time(rnn, x)
    assert norms.shape == (6,)
    assert norms[0] == pytest.approx(1.0)
    assert norms[3].item() == pytest.approx(
        torch.linalg.matrix_norm(jac, ord=2).item(), rel=1e-10
    )


def test_small_scale_vanishes_and_large_scale_explodes() -> None:
    t = torch.linspace(0, 3 * torch.pi, 30)
    x = torch.sin(t).reshape(1, 30, 1)
    small = jacobian_norms_over_time(make_scaled_rnn(16, scale=0.5), x)
    large = jacobian_norms_over_time(make_scaled_rnn(16, scale=2.0), x)
    # ‖D W_hh‖ ≤ 0.5 なので、1 ステップ遡るごとに必ず半分以下になる
    assert torch.all(small[1:] <= 0.5 * small[:-1] + 1e-12)
    assert small[-1] < 1e-8
    # 大きな scale では距離とともに(飽和で波打ちつつも)大きくなる
    assert large[-1] > 100 * large[1]
    assert large[10:].min() > large[1]


def test_scaled_rnn_has_equal_singular_values_and_keeps_global_rng() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    rnn = make_scaled_rnn(6, scale=0.7, seed=5)
    torch.testing.assert_close(torch.rand(3), expected)  # 外の乱数は変わらない
    singular = torch.linalg.svdvals(rnn.weight_hh_l0.detach())
    torch.testing.assert_close(singular, torch.full((6,), 0.7))
    assert torch.count_nonzero(rnn.bias_hh_l0) == 0


def test_tiny_rnn_is_reproducible() -> None:
    a, head_a = make_tiny_rnn(hidden_size=3, seed=4)
    b, head_b = make_tiny_rnn(hidden_size=3, seed=4)
    torch.testing.assert_close(a.weight_hh_l0, b.weight_hh_l0)
    torch.testing.assert_close(head_a.weight, head_b.weight)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_layers": 2}, "1 層"),
        ({"bidirectional": True}, "一方向"),
        ({"nonlinearity": "relu"}, "tanh"),
        ({"bias": False}, "バイアス"),
        ({"batch_first": False}, "batch_first"),
    ],
)
def test_unsupported_rnn_raises(kwargs: dict, message: str) -> None:
    options = {"batch_first": True, **kwargs}
    rnn = nn.RNN(1, 3, **options)
    with pytest.raises(ValueError, match=message):
        manual_rnn_step(rnn, torch.zeros(1, 1), torch.zeros(1, 3))


def test_bad_inputs_raise_clear_errors(rnn: nn.RNN) -> None:
    with pytest.raises(ValueError, match="torch.nn.RNN"):
        manual_rnn_step(
            nn.LSTM(2, 5, batch_first=True),
            torch.zeros(1, 2),
            torch.zeros(1, 5),
        )
    with pytest.raises(ValueError, match=r"x_t .*最後の軸が 2.*\(1, 3\)"):
        manual_rnn_step(rnn, torch.zeros(1, 3), torch.zeros(1, 5))
    with pytest.raises(ValueError, match="h_prev"):
        manual_rnn_step(rnn, torch.zeros(1, 2), torch.zeros(1, 4))
    with pytest.raises(ValueError, match="x は 3 次元"):
        manual_rnn_forward(rnn, torch.zeros(4, 2))
    with pytest.raises(ValueError, match="系列 1 本"):
        jacobian_norms_over_time(rnn, torch.zeros(2, 5, 2))
    with pytest.raises(ValueError, match="scale は正"):
        make_scaled_rnn(4, scale=0.0)
    with pytest.raises(ValueError, match="hidden_size"):
        make_tiny_rnn(hidden_size=0)
    with pytest.raises(ValueError, match="batch_size"):
        step_shape_table(rnn, batch_size=0)
    rnn1, head = make_tiny_rnn(hidden_size=3)
    with pytest.raises(ValueError, match="target"):
        hidden_state_grads(rnn1, head, torch.zeros(1, 4, 1), torch.zeros(1))


def test_plots_return_figures_without_warnings() -> None:
    setup_japanese_font()
    k = np.arange(4)
    figures = [
        plot_unrolled_rnn(),
        plot_unrolled_rnn(n_steps=4),
        plot_norms_by_lag(k, {"縮む": 0.5**k, "伸びる": 2.0**k}),
    ]
    for fig in figures:
        assert isinstance(fig, Figure)
        fig.savefig(
            io.BytesIO(), format="png"
        )  # 描画して文字の欠けを警告させる
    assert figures[-1].axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match="長さ"):
        plot_norms_by_lag(k, {"短い": np.ones(3)})
    with pytest.raises(ValueError, match="n_steps"):
        plot_unrolled_rnn(n_steps=0)
