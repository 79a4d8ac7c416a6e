"""式から書いた注意機構が nn.MultiheadAttention・nn.TransformerEncoderLayer と
同じ計算をすること、因果マスクで未来を見ないことを確かめる。
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F
from torch.testing import assert_close

from medrnn.core.models.attention import (
    AttentionPooling,
    CausalTransformerRegressor,
    MultiHeadAttentionScratch,
    RecurrentAttentionRegressor,
    TransformerConfig,
    causal_mask,
    from_torch_layer,
    future_change,
    scaled_dot_product_attention,
    sinusoidal_positional_encoding,
)
from medrnn.core.models.nets import ModelConfig
from medrnn.core.training import TrainConfig, fit

BATCH, SEQ_LEN, D_MODEL, HEADS = 3, 7, 8, 2


def linear_loss(out: torch.Tensor) -> torch.Tensor:
    """出力のすべての成分に違う重みをかけた和(勾配を比べるため)。"""
    return (torch.linspace(-1, 1, out.numel()).reshape(out.shape) * out).sum()


@pytest.mark.parametrize("masked", [False, True])
def test_scaled_dot_product_matches_functional(masked: bool) -> None:
    """PyTorch の関数と一致する。その関数の真偽のマスクは True = 見てよい。"""
    q, k, v = (torch.randn(BATCH, HEADS, SEQ_LEN, 4) for _ in range(3))
    mask = causal_mask(SEQ_LEN) if masked else None
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    allowed = None if mask is None else ~mask  # 約束が逆
    assert_close(out, F.scaled_dot_product_attention(q, k, v, allowed))
    if masked:
        assert_close(
            out, F.scaled_dot_product_attention(q, k, v, is_causal=True)
        )
        assert torch.all(weights[..., mask] == 0)
    assert_close(weights.sum(-1), torch.ones(BATCH, HEADS, SEQ_LEN))


@pytest.mark.parametrize("masked", [False, True])
def test_multihead_equals_torch(masked: bool) -> None:
    """重みを写すと、出力・ヘッドごとの重み・すべての勾配が一致する。"""
    reference = nn.MultiheadAttention(D_MODEL, HEADS, batch_first=True)
    scratch = MultiHeadAttentionScratch(D_MODEL, HEADS)
    scratch.load_state_dict(reference.state_dict())  # 名前も形状も同じ
    x = torch.randn(BATCH, SEQ_LEN, D_MODEL)
    mask = causal_mask(SEQ_LEN) if masked else None
    x_ref, x_scr = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_ref, w_ref = reference(
        x_ref, x_ref, x_ref, attn_mask=mask, average_attn_weights=False
    )
    out_scr, w_scr = scratch(x_scr, x_scr, x_scr, attn_mask=mask)
    assert_close(out_scr, out_ref)
    assert_close(w_scr, w_ref)  # (B, heads, T, T)
    linear_loss(out_ref).backward()
    linear_loss(out_scr).backward()
    assert_close(x_scr.grad, x_ref.grad)
    ref_params = dict(reference.named_parameters())
    for name, p in scratch.named_parameters():
        assert_close(p.grad, ref_params[name].grad)


def test_encoder_layer_equals_torch() -> None:
    """nn の層の重みを写すと、出力・入力の勾配・全パラメータの勾配が一致。"""
    layer = nn.TransformerEncoderLayer(
        D_MODEL, HEADS, dim_feedforward=16, dropout=0.0, batch_first=True
    )
    scratch = from_torch_layer(layer)  # 重みをそっくり写す
    mask = causal_mask(SEQ_LEN)  # True = 未来(見てはいけない)
    x = torch.randn(BATCH, SEQ_LEN, D_MODEL)
    x_ref, x_scr = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_ref = layer(x_ref, src_mask=mask, is_causal=True)
    out_scr = scratch(x_scr, mask)
    assert_close(out_scr, out_ref)  # 全位置の出力
    linear_loss(out_ref).backward()
    linear_loss(out_scr).backward()
    assert_close(x_scr.grad, x_ref.grad)  # 入力の勾配
    ref_params = dict(layer.named_parameters())
    for name, p in scratch.named_parameters():  # 全パラメータの勾配
        assert_close(p.grad, ref_params[name].grad)


def test_encoder_layer_equals_torch_fast_path() -> None:
    """評価モード・勾配なし(PyTorch の高速な経路)でも出力が一致する。"""
    layer = nn.TransformerEncoderLayer(
        D_MODEL, HEADS, 16, dropout=0.0, batch_first=True
    ).eval()
    scratch = from_torch_layer(layer)
    x = torch.randn(BATCH, SEQ_LEN, D_MODEL)
    with torch.inference_mode():
        assert_close(scratch(x), layer(x))
        mask = causal_mask(SEQ_LEN)
        assert_close(scratch(x, mask), layer(x, src_mask=mask, is_causal=True))


def test_gradcheck_float64() -> None:
    """数値微分と自動微分の勾配が一致する(入力とすべてのパラメータ)。"""
    model = MultiHeadAttentionScratch(4, 2).double()
    names = [name for name, _ in model.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in model.parameters()]
    x = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    mask = causal_mask(3)

    def output(x: torch.Tensor, *weights: torch.Tensor) -> torch.Tensor:
        args = (x, x, x, mask)
        return functional_call(model, dict(zip(names, weights)), args)[0]

    assert torch.autograd.gradcheck(output, (x, *params))


def test_positional_encoding_values_and_rotation() -> None:
    """式の値と、k 後の位置は今の位置を 2 次元ずつ回転したものであること。"""
    d, k = 8, 3
    pe = sinusoidal_positional_encoding(20, d).double()
    assert_close(pe[0, 0::2], torch.zeros(d // 2, dtype=torch.float64))
    assert_close(pe[0, 1::2], torch.ones(d // 2, dtype=torch.float64))
    omega = 1 / 10000 ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    assert_close(pe[5, 2], torch.sin(5 * omega[1]))
    c, s = torch.cos(k * omega), torch.sin(k * omega)  # 位置によらない
    sin, cos = pe[:-k, 0::2], pe[:-k, 1::2]
    assert_close(pe[k:, 0::2], sin * c + cos * s, atol=1e-6, rtol=1e-6)
    assert_close(pe[k:, 1::2], cos * c - sin * s, atol=1e-6, rtol=1e-6)


def test_causal_mask_is_upper_triangle() -> None:
    mask = causal_mask(4)
    assert mask.dtype == torch.bool and mask.shape == (4, 4)
    assert mask.sum() == 6 and not mask.diagonal().any()
    assert mask[0, 1] and not mask[1, 0]


def test_causal_transformer_never_looks_ahead() -> None:
    """どの時刻 t の入力を変えても、t より前の出力はまったく変わらない。

    マスクを外すと変わる(このテストが漏れを見つけられること)。
    """
    config = TransformerConfig(input_size=2, d_model=8, nhead=2)
    model = CausalTransformerRegressor(config).eval()
    x = torch.randn(BATCH, SEQ_LEN, 2)
    for t in range(1, SEQ_LEN):
        assert future_change(model.encode, x, t) <= 1e-6
    leak = future_change(lambda x: model.encode(x, causal=False), x, 1)
    assert leak > 1e-3


def test_causal_transformer_last_output_uses_whole_window() -> None:
    """予測(最後の位置)は、窓の最初の入力でも変わる(窓全体を読む)。"""
    model = CausalTransformerRegressor(TransformerConfig()).eval()
    x = torch.randn(BATCH, SEQ_LEN, 1)
    changed = x.clone()
    changed[:, 0] += 1.0
    with torch.no_grad():
        assert (model(changed) - model(x)).abs().max() > 1e-4


def test_attention_weights_are_distributions_and_masked() -> None:
    """学習前のモデルでも、重みは確率分布で、未来への重みは 0。"""
    model = CausalTransformerRegressor(TransformerConfig(num_layers=2))
    with torch.no_grad():
        w = model.attention_weights(torch.randn(BATCH, SEQ_LEN, 1))
    assert w.shape == (2, BATCH, 4, SEQ_LEN, SEQ_LEN)
    assert_close(w.sum(-1), torch.ones(2, BATCH, 4, SEQ_LEN))
    assert torch.all(w[..., causal_mask(SEQ_LEN)] == 0)


def test_attention_pooling_shapes_and_weights() -> None:
    pooling = AttentionPooling(5, 3)
    h = torch.randn(BATCH, SEQ_LEN, 5)
    c, alpha = pooling(h)
    assert c.shape == (BATCH, 5) and alpha.shape == (BATCH, SEQ_LEN)
    assert torch.all(alpha >= 0)
    assert_close(alpha.sum(1), torch.ones(BATCH))
    assert_close(c, torch.einsum("bt,bth->bh", alpha, h))


def test_recurrent_attention_regressor_forward_matches_attend() -> None:
    model = RecurrentAttentionRegressor(
        ModelConfig(kind="gru", input_size=2, hidden_size=6, output_size=3)
    )
    x = torch.randn(BATCH, SEQ_LEN, 2)
    h, alpha = model.attend(x)
    assert h.shape == (BATCH, SEQ_LEN, 6) and alpha.shape == (BATCH, SEQ_LEN)
    expected = model.head((alpha.unsqueeze(-1) * h).sum(1))
    assert_close(model(x), expected)


@pytest.mark.parametrize(
    "make",
    [
        lambda: RecurrentAttentionRegressor(
            ModelConfig(kind="gru", hidden_size=8)
        ),
        lambda: CausalTransformerRegressor(
            TransformerConfig(d_model=8, nhead=2, dim_feedforward=16)
        ),
    ],
)
def test_models_learn_a_simple_signal(make) -> None:
    """数秒の学習で損失が下がる(次の値 = 窓の平均)。"""
    x = torch.randn(128, 6, 1)
    y = x.mean(dim=1)
    history = fit(make(), x, y, TrainConfig(epochs=15, batch_size=32, lr=1e-2))
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]


def test_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="num_heads"):
        MultiHeadAttentionScratch(6, 4)
    with pytest.raises(ValueError, match="seq_len"):
        causal_mask(0)
    with pytest.raises(ValueError, match="偶数"):
        sinusoidal_positional_encoding(4, 5)
    with pytest.raises(ValueError, match="query"):
        scaled_dot_product_attention(
            torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(2, 4)
        )
    with pytest.raises(ValueError, match="num_heads"):
        TransformerConfig(d_model=10, nhead=4)
    with pytest.raises(ValueError, match="形状"):
        CausalTransformerRegressor(TransformerConfig())(torch.zeros(2, 5, 3))
    with pytest.raises(ValueError, match="max_len"):
        model = CausalTransformerRegressor(TransformerConfig(max_len=4))
        model(torch.zeros(1, 5, 1))
    with pytest.raises(ValueError, match="norm_first"):
        from_torch_layer(
            nn.TransformerEncoderLayer(4, 2, batch_first=True, norm_first=True)
        )
    with pytest.raises(ValueError, match="t は"):
        future_change(lambda x: x, torch.zeros(1, 3, 1), 0)
