"""スクラッチのセルが nn.RNN・nn.LSTM・nn.GRU と
同じ計算をすることを確かめる。
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call
from torch.testing import assert_close

from medrnn.core.models.scratch import (
    GRUCellScratch,
    LSTMCellScratch,
    RNNCellScratch,
    ScratchRecurrent,
    equality_gaps,
    from_torch,
    run_cell,
    trace_lstm,
)

BATCH, SEQ_LEN, INPUT_SIZE, HIDDEN_SIZE = 4, 7, 3, 5
WEIGHT_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
TORCH_RNNS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}  # kind → nn


def random_state(kind: str, num_layers: int) -> torch.Tensor | tuple:
    """0 でない初期状態(LSTM は (h_0, c_0))。各形状 (L, B, H)。"""
    h0 = torch.randn(num_layers, BATCH, HIDDEN_SIZE)
    return (h0, torch.randn_like(h0)) if kind == "lstm" else h0


def scalar_loss(output: torch.Tensor, state) -> torch.Tensor:
    """出力と最終状態の両方に依存するスカラー(勾配を比べるため)。"""
    states = state if isinstance(state, tuple) else (state,)
    weights = torch.linspace(-1, 1, output.numel()).reshape(output.shape)
    return (weights * output).sum() + sum((s**2).sum() for s in states)


def input_and_state_grads(x, state) -> list[torch.Tensor]:
    """入力と初期状態の勾配を並べる。"""
    states = state if isinstance(state, tuple) else (state,)
    return [x.grad] + [s.grad for s in states]


def leaf_copy(state):
    """初期状態を、勾配を受け取れる独立したコピーにする。"""
    if isinstance(state, tuple):
        return tuple(s.clone().requires_grad_() for s in state)
    return state.clone().requires_grad_()


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_scratch_equals_torch(kind: str, num_layers: int) -> None:
    """nn の重みを写すと、出力・最終状態・すべての勾配が一致する。"""
    torch.manual_seed(0)
    reference = TORCH_RNNS[kind](
        INPUT_SIZE, HIDDEN_SIZE, num_layers=num_layers, batch_first=True
    )
    scratch = from_torch(reference)  # 重みをそっくり写す
    x = torch.randn(BATCH, SEQ_LEN, INPUT_SIZE)
    state = random_state(kind, num_layers)
    x_ref, x_scr = x.clone().requires_grad_(), x.clone().requires_grad_()
    s_ref, s_scr = leaf_copy(state), leaf_copy(state)
    out_ref, last_ref = reference(x_ref, s_ref)
    out_scr, last_scr = scratch(x_scr, s_scr)
    assert_close(out_scr, out_ref)  # 全時刻の出力
    assert_close(last_scr, last_ref)  # 最終状態 h_n(LSTM は c_n も)
    scalar_loss(out_ref, last_ref).backward()
    scalar_loss(out_scr, last_scr).backward()
    grads_scr = input_and_state_grads(x_scr, s_scr)  # 入力と初期状態の勾配
    assert_close(grads_scr, input_and_state_grads(x_ref, s_ref))
    for k, cell in enumerate(scratch.cells):  # 全パラメータの勾配
        for name in WEIGHT_NAMES:
            grad_scr = getattr(cell, name).grad
            assert_close(grad_scr, getattr(reference, f"{name}_l{k}").grad)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_default_zero_state_matches_torch(kind: str) -> None:
    """初期状態を渡さないとき、両方とも 0 から始める。"""
    torch.manual_seed(1)
    reference = TORCH_RNNS[kind](
        INPUT_SIZE, HIDDEN_SIZE, num_layers=2, batch_first=True
    )
    x = torch.randn(BATCH, SEQ_LEN, INPUT_SIZE)
    out_ref, last_ref = reference(x)
    out_scr, last_scr = from_torch(reference)(x)
    assert_close(out_scr, out_ref)
    assert_close(last_scr, last_ref)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_gradcheck_float64(kind: str, num_layers: int) -> None:
    """数値微分と自動微分の勾配が一致する(入力とすべてのパラメータ)。"""
    torch.manual_seed(2)
    model = ScratchRecurrent(kind, 2, 3, num_layers).double()
    names = [name for name, _ in model.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in model.parameters()]
    x = torch.randn(2, 4, 2, dtype=torch.float64, requires_grad=True)

    def outputs(x: torch.Tensor, *weights: torch.Tensor):
        out, state = functional_call(model, dict(zip(names, weights)), (x,))
        return (out, *state) if isinstance(state, tuple) else (out, state)

    assert torch.autograd.gradcheck(outputs, (x, *params))


def test_cells_have_pytorch_shapes() -> None:
    """ゲートの数だけ重みが縦に積まれている(RNN 1、LSTM 4、GRU 3)。"""
    for cls, chunks in (
        (RNNCellScratch, 1),
        (LSTMCellScratch, 4),
        (GRUCellScratch, 3),
    ):
        cell = cls(INPUT_SIZE, HIDDEN_SIZE)
        assert cell.weight_ih.shape == (chunks * HIDDEN_SIZE, INPUT_SIZE)
        assert cell.weight_hh.shape == (chunks * HIDDEN_SIZE, HIDDEN_SIZE)
        assert (
            cell.bias_ih.shape == cell.bias_hh.shape == (chunks * HIDDEN_SIZE,)
        )


def test_run_cell_shapes() -> None:
    """run_cell は全時刻の h_t と最後の状態を返す。"""
    cell = LSTMCellScratch(INPUT_SIZE, HIDDEN_SIZE)
    x = torch.randn(BATCH, SEQ_LEN, INPUT_SIZE)
    h0 = torch.zeros(BATCH, HIDDEN_SIZE)
    outputs, (h, c) = run_cell(cell, x, (h0, h0))
    assert outputs.shape == (BATCH, SEQ_LEN, HIDDEN_SIZE)
    assert_close(outputs[:, -1], h)
    assert c.shape == (BATCH, HIDDEN_SIZE)


def test_gru_reset_gate_is_applied_after_the_matrix_product() -> None:
    """PyTorch の GRU は r ⊙ (W_hn h + b_hn)。

    b_hn があると Cho らの形と値が違う。
    """
    torch.manual_seed(3)
    cell = GRUCellScratch(1, 2)
    x, h = torch.randn(3, 1), torch.randn(3, 2)
    reference = nn.GRUCell(1, 2)
    reference.load_state_dict(cell.state_dict())
    assert_close(cell(x, h), reference(x, h))
    with torch.no_grad():  # Cho らの形: W_hn (r ⊙ h) + b_hn で計算してみる
        ax_r, ax_z, ax_n = (x @ cell.weight_ih.T + cell.bias_ih).chunk(
            3, dim=1
        )
        ah_r, ah_z, _ = (h @ cell.weight_hh.T + cell.bias_hh).chunk(3, dim=1)
        r, z = torch.sigmoid(ax_r + ah_r), torch.sigmoid(ax_z + ah_z)
        W_hn, b_hn = cell.weight_hh[4:], cell.bias_hh[4:]
        n_cho = torch.tanh(ax_n + (r * h) @ W_hn.T + b_hn)
        assert not torch.allclose((1 - z) * n_cho + z * h, cell(x, h))


def test_trace_lstm_matches_torch() -> None:
    """記録した h_t と C_t が nn.LSTM と一致し、ゲートは 0〜1 に入る。"""
    torch.manual_seed(4)
    reference = nn.LSTM(1, HIDDEN_SIZE, num_layers=2, batch_first=True)
    x = torch.randn(2, SEQ_LEN, 1)
    output, (h_n, c_n) = reference(x)
    trace = trace_lstm(from_torch(reference), x, layer=1)
    assert_close(trace["hidden"], output)
    assert_close(trace["cell"][:, -1], c_n[1])
    for name in ("input", "forget", "output"):
        assert trace[name].shape == (2, SEQ_LEN, HIDDEN_SIZE)
        assert trace[name].min() > 0 and trace[name].max() < 1


def test_bad_inputs_raise_clear_errors() -> None:
    """間違った設定や形状は、何が悪いかを書いた ValueError になる。"""
    with pytest.raises(ValueError, match="kind"):
        ScratchRecurrent("transformer", 1, 4)
    with pytest.raises(ValueError, match="num_layers"):
        ScratchRecurrent("rnn", 1, 4, num_layers=0)
    with pytest.raises(ValueError, match="hidden_size"):
        RNNCellScratch(1, 0)
    with pytest.raises(ValueError, match="形状"):
        ScratchRecurrent("gru", 2, 4)(torch.zeros(3, 5, 1))
    with pytest.raises(ValueError, match="nn.RNN"):
        from_torch(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="batch_first"):
        from_torch(nn.LSTM(1, 4))  # batch_first=False
    with pytest.raises(ValueError, match="batch_first"):
        from_torch(nn.GRU(1, 4, batch_first=True, bidirectional=True))
    with pytest.raises(ValueError, match="LSTM"):
        trace_lstm(ScratchRecurrent("gru", 1, 4), torch.zeros(1, 3, 1))
    with pytest.raises(ValueError, match="layer"):
        trace_lstm(ScratchRecurrent("lstm", 1, 4), torch.zeros(1, 3, 1), 2)


@pytest.mark.parametrize("layer", [nn.RNN, nn.LSTM, nn.GRU])
def test_equality_gaps_are_rounding_errors(layer) -> None:
    """equality_gaps は 3 種類の差を返し、どれも丸め誤差の大きさ。"""
    torch.manual_seed(5)
    gaps = equality_gaps(
        layer(1, 8, num_layers=2, batch_first=True), torch.randn(3, 12, 1)
    )
    assert set(gaps) == {"output", "state", "grad_relative"}
    assert all(0 <= value < 1e-5 for value in gaps.values())


def test_plot_gate_traces_returns_figure() -> None:
    """ゲートの図は Figure を返し、パネルは入力 + traces の数。"""
    from matplotlib.figure import Figure

    from medrnn.core.plotting import plot_gate_traces

    t = np.arange(20.0)
    traces = {
        "f": np.full((20, 4), 0.5),
        "C": np.linspace(-2, 2, 80).reshape(20, 4),
    }
    fig = plot_gate_traces(t, np.sin(t), traces, units=[0, 2])
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    with pytest.raises(ValueError, match="長さ"):
        plot_gate_traces(t, np.sin(t), {"f": np.zeros((5, 4))}, units=[0])
