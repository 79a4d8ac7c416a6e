"""数式をそのまま書いた注意機構と、注意機構を使う回帰モデル。

前半は式から書いた部品(スケール化内積注意・マルチヘッド注意・位置
エンコーディング・因果マスク・Transformer のエンコーダ層)。パラメータの
名前と形状は ``nn.MultiheadAttention`` と ``nn.TransformerEncoderLayer`` と
同じにしてあるので、``load_state_dict`` で重みをそのまま写せる
(tests/core/test_attention_layers.py で出力と勾配の一致を確かめている)。

後半は ``nn`` の部品で作った 2 つの回帰モデル: 再帰層の隠れ状態を注意で
まとめるモデル(注意プーリング)と、因果マスク付きの小さな Transformer。

マスクの約束: 本書の因果マスクは PyTorch の ``nn.MultiheadAttention`` と
同じく **True = 見てはいけない**(未来)。
``torch.nn.functional.scaled_dot_product_attention`` の真偽のマスクは逆
(True = 見てよい)なので注意する。
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .nets import RECURRENT_LAYERS, ModelConfig, _check_input


def causal_mask(
    seq_len: int, device: torch.device | str | None = None
) -> torch.Tensor:
    """因果マスク: 位置 t は 0〜t だけを見てよい(True = 見てはいけない)。

    Parameters
    ----------
    seq_len : int
        系列の長さ(1 以上)。
    device : torch.device, str or None
        マスクを置く装置(None なら既定の装置)。

    Returns
    -------
    torch.Tensor
        形状 (seq_len, seq_len) の真偽値。対角より上(未来)が True。
    """
    if seq_len < 1:
        raise ValueError(f"seq_len は 1 以上にしてください({seq_len})")
    ones = torch.ones(seq_len, seq_len, dtype=torch.bool, device=device)
    return torch.triu(ones, diagonal=1)


def _check_qkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> None:
    """query・key・value の形状がそろっているかを確かめる。"""
    if q.ndim < 2 or q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(
            "query (..., T_q, d_k)・key (..., T_k, d_k)・value (..., T_k, d_v)"
            f" の形状にしてください(受け取った形状: {tuple(q.shape)}, "
            f"{tuple(k.shape)}, {tuple(v.shape)})"
        )


def scaled_dot_product_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V。

    Parameters
    ----------
    query, key, value : 形状 (..., T_q, d_k)、(..., T_k, d_k)、(..., T_k, d_v)
    mask : 形状 (T_q, T_k) の真偽値(True = 見てはいけない)か None

    Returns
    -------
    output : 形状 (..., T_q, d_v)
    weights : 注意の重み(各行の和が 1)。形状 (..., T_q, T_k)
    """
    _check_qkv(query, key, value)
    d_k = query.shape[-1]
    scores = query @ key.transpose(-2, -1) / math.sqrt(d_k)  # (..., Tq, Tk)
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))  # 未来は重み 0 に
    weights = torch.softmax(scores, dim=-1)  # 行ごとの確率分布
    return weights @ value, weights  # (..., Tq, d_v), (..., Tq, Tk)


def _check_heads(embed_dim: int, num_heads: int) -> None:
    """embed_dim が num_heads で割り切れるかを確かめる。"""
    if embed_dim < 1 or num_heads < 1 or embed_dim % num_heads:
        raise ValueError(
            f"embed_dim({embed_dim})は num_heads({num_heads})で"
            "割り切れる正の整数にしてください"
        )


class MultiHeadAttentionScratch(nn.Module):
    """マルチヘッド注意(``nn.MultiheadAttention`` と同じパラメータ名)。

    head_i = Attention(Q W_q,i, K W_k,i, V W_v,i)、
    出力 = Concat(head_1, ..., head_h) W_o。batch_first の形で使う。

    Parameters
    ----------
    embed_dim : int
        入出力のベクトルの次元 E(num_heads で割り切れる)。
    num_heads : int
        ヘッドの数。1 つのヘッドの次元は E / num_heads。
    """

    def __init__(self, embed_dim: int, num_heads: int) -> None:
        super().__init__()
        _check_heads(embed_dim, num_heads)
        self.embed_dim, self.num_heads = embed_dim, num_heads
        # W_q・W_k・W_v を縦に積んだもの(PyTorch と同じ並び)
        self.in_proj_weight = nn.Parameter(
            torch.empty(3 * embed_dim, embed_dim)
        )
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim))
        self.out_proj = nn.Linear(embed_dim, embed_dim)  # W_o と b_o
        nn.init.xavier_uniform_(self.in_proj_weight)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, E) を (B, heads, T, E / heads) に分ける。

        Parameters
        ----------
        x : torch.Tensor
            射影したあとのベクトル。形状 (B, T, E)

        Returns
        -------
        torch.Tensor
            ヘッドごとに分けたもの。形状 (B, heads, T, E / heads)
        """
        B, T, _ = x.shape
        return x.view(B, T, self.num_heads, -1).transpose(1, 2)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """query・key・value: 形状 (batch, seq_len, embed_dim)。
        attn_mask: 形状 (T_q, T_k) の真偽値(True = 見てはいけない)か None。

        Returns
        -------
        output : 形状 (batch, T_q, embed_dim)
        weights : ヘッドごとの注意の重み。形状 (batch, heads, T_q, T_k)
        """
        W = self.in_proj_weight.chunk(3)  # W_q, W_k, W_v
        b = self.in_proj_bias.chunk(3)
        q, k, v = (
            self.split_heads(x @ w.T + bias)  # (B, heads, T, d_k)
            for x, w, bias in zip((query, key, value), W, b)
        )
        heads, weights = scaled_dot_product_attention(q, k, v, attn_mask)
        B, _, T, _ = heads.shape
        concat = heads.transpose(1, 2).reshape(B, T, self.embed_dim)
        return self.out_proj(concat), weights  # (B, T, E)


class LayerNormScratch(nn.Module):
    """層正規化: (x − 平均) / √(分散 + ε) · γ + β(最後の軸で)。

    Parameters
    ----------
    size : int
        正規化する最後の軸の長さ(γ と β の形状は (size,))。
    eps : float
        分散に足す小さな値 ε(0 での割り算を防ぐ)。
    """

    def __init__(self, size: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(size))  # γ
        self.bias = nn.Parameter(torch.zeros(size))  # β

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """最後の軸で正規化する。

        Parameters
        ----------
        x : torch.Tensor
            形状 (..., size)

        Returns
        -------
        torch.Tensor
            x と同じ形状
        """
        mean = x.mean(dim=-1, keepdim=True)
        var = x.var(dim=-1, unbiased=False, keepdim=True)
        return (x - mean) / torch.sqrt(
            var + self.eps
        ) * self.weight + self.bias


class TransformerEncoderLayerScratch(nn.Module):
    """Transformer のエンコーダ層(後置の正規化、ReLU、ドロップアウトなし)。

    ``nn.TransformerEncoderLayer(norm_first=False, dropout=0)`` と同じ計算で、
    パラメータの名前も同じ。

    Parameters
    ----------
    d_model : int
        各位置のベクトルの次元。
    nhead : int
        注意のヘッドの数(d_model を割り切る)。
    dim_feedforward : int
        位置ごとの 2 層のネットワークの中間の次元。
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int) -> None:
        super().__init__()
        self.self_attn = MultiHeadAttentionScratch(d_model, nhead)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = LayerNormScratch(d_model)
        self.norm2 = LayerNormScratch(d_model)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """自己注意 → 残差・正規化 → 2 層 → 残差・正規化。

        Parameters
        ----------
        x : torch.Tensor
            形状 (batch, seq_len, d_model)
        mask : torch.Tensor or None
            形状 (seq_len, seq_len) の真偽値(True = 見ない)か None

        Returns
        -------
        torch.Tensor
            x と同じ形状
        """
        attended, _ = self.self_attn(x, x, x, attn_mask=mask)
        x = self.norm1(x + attended)  # 注意 + 残差 → 正規化
        hidden = torch.relu(self.linear1(x))  # (B, T, dim_feedforward)
        return self.norm2(x + self.linear2(hidden))  # 位置ごとの 2 層 + 残差


def from_torch_layer(
    layer: nn.TransformerEncoderLayer,
) -> TransformerEncoderLayerScratch:
    """``nn.TransformerEncoderLayer`` の重みを写したスクラッチ版を作る。

    Parameters
    ----------
    layer : nn.TransformerEncoderLayer
        batch_first=True・norm_first=False で作った層。

    Returns
    -------
    TransformerEncoderLayerScratch
        layer と同じ重みを持ち、同じ出力を返す層。
    """
    attn = layer.self_attn
    if not attn.batch_first or layer.norm_first:
        raise ValueError(
            "batch_first=True・norm_first=False の層にしてください"
        )
    scratch = TransformerEncoderLayerScratch(
        attn.embed_dim, attn.num_heads, layer.linear1.out_features
    )
    scratch.load_state_dict(layer.state_dict())  # 名前と形状が同じ
    return scratch


def sinusoidal_positional_encoding(seq_len: int, d_model: int) -> torch.Tensor:
    """正弦波の位置エンコーディング(Vaswani et al. 2017)。

    PE(pos, 2i) = sin(pos / 10000^(2i/d))、PE(pos, 2i+1) = cos(同じ角度)。

    Parameters
    ----------
    seq_len, d_model : 位置の数(1 以上)と、ベクトルの次元(2 以上の偶数)

    Returns
    -------
    torch.Tensor
        形状 (seq_len, d_model)
    """
    if seq_len < 1 or d_model < 2 or d_model % 2:
        raise ValueError(
            f"seq_len は 1 以上、d_model は 2 以上の偶数にしてください"
            f"(受け取った値: {seq_len}, {d_model})"
        )
    pos = torch.arange(seq_len, dtype=torch.float64)[:, None]  # (T, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # (d/2,)
    angle = pos / 10000 ** (two_i / d_model)  # (T, d/2)
    pe = torch.empty(seq_len, d_model, dtype=torch.float64)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(angle), torch.cos(angle)
    return pe.float()


class AttentionPooling(nn.Module):
    """加法型の注意で、各時刻の隠れ状態を 1 つのベクトルにまとめる。

    e_t = vᵀ tanh(W h_t + b)、α = softmax(e)、c = Σ_t α_t h_t。

    Parameters
    ----------
    hidden_size : int
        隠れ状態 h_t の次元 H。
    attention_size : int
        スコアを計算する中間の次元(W の出力の次元)。
    """

    def __init__(self, hidden_size: int, attention_size: int) -> None:
        super().__init__()
        self.project = nn.Linear(hidden_size, attention_size)  # W, b
        self.score = nn.Linear(attention_size, 1, bias=False)  # v

    def weights(self, h: torch.Tensor) -> torch.Tensor:
        """注意の重み α(各窓で和が 1)。

        Parameters
        ----------
        h : 形状 (B, T, H) の隠れ状態

        Returns
        -------
        形状 (B, T)
        """
        e = self.score(torch.tanh(self.project(h))).squeeze(-1)  # (B, T)
        return torch.softmax(e, dim=-1)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """文脈ベクトル c と、それを作った重み α を返す。

        Parameters
        ----------
        h : torch.Tensor
            各時刻の隠れ状態。形状 (B, T, H)

        Returns
        -------
        c : torch.Tensor
            文脈ベクトル。形状 (B, H)
        alpha : torch.Tensor
            注意の重み。形状 (B, T)
        """
        alpha = self.weights(h)
        return pool(h, alpha), alpha


def pool(h: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """c = Σ_t α_t h_t(重みを付けた隠れ状態の和)。

    Parameters
    ----------
    h : torch.Tensor
        隠れ状態。形状 (B, T, H)
    alpha : torch.Tensor
        時刻ごとの重み。形状 (B, T)

    Returns
    -------
    torch.Tensor
        c。形状 (B, H)
    """
    return (alpha.unsqueeze(-1) * h).sum(dim=1)


class RecurrentAttentionRegressor(nn.Module):
    """再帰層の全時刻の隠れ状態を注意プーリングでまとめ、線形層で予測する。

    最後の時刻の隠れ状態だけを使う ``RecurrentRegressor`` との違いは、
    まとめ方だけ(再帰層と線形層は同じ)。

    Parameters
    ----------
    config : ModelConfig
        再帰層と線形層の設定(``RecurrentRegressor`` と同じもの)。
    attention_size : int
        注意プーリングの中間の次元。
    """

    def __init__(self, config: ModelConfig, attention_size: int = 16) -> None:
        super().__init__()
        self.config = config
        self.recurrent = RECURRENT_LAYERS[config.kind](
            input_size=config.input_size,
            hidden_size=config.hidden_size,
            num_layers=config.num_layers,
            batch_first=True,
        )
        self.attention = AttentionPooling(config.hidden_size, attention_size)
        self.head = nn.Linear(config.hidden_size, config.output_size)

    def attend(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """再帰層を通し、隠れ状態と注意の重みを返す(予測はしない)。

        Parameters
        ----------
        x : torch.Tensor
            入力。形状 (B, T, input_size)

        Returns
        -------
        h : torch.Tensor
            全時刻の隠れ状態。形状 (B, T, H)
        alpha : torch.Tensor
            注意の重み。形状 (B, T)
        """
        _check_input(x, self.config.input_size)
        h, _ = self.recurrent(x)  # (B, T, H)
        return h, self.attention.weights(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """予測 head(Σ_t α_t h_t)。

        Parameters
        ----------
        x : torch.Tensor
            入力の窓。形状 (B, T, input_size)

        Returns
        -------
        torch.Tensor
            形状 (B, output_size)
        """
        h, alpha = self.attend(x)
        return self.head(pool(h, alpha))


@dataclass(frozen=True)
class TransformerConfig:
    """因果マスク付きの小さな Transformer 回帰モデルの設定。"""

    input_size: int = 1  # 各時刻の特徴量の数
    d_model: int = 32  # 各位置のベクトルの次元
    nhead: int = 4  # ヘッドの数(d_model を割り切る)
    dim_feedforward: int = 64  # 位置ごとの 2 層のネットワークの中間の次元
    num_layers: int = 1  # エンコーダ層の数
    output_size: int = 1  # 予測する値の数
    max_len: int = 64  # 位置エンコーディングを用意する長さ

    def __post_init__(self) -> None:
        for name in ("input_size", "dim_feedforward", "num_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} は 1 以上にしてください")
        if self.output_size < 1 or self.max_len < 1:
            raise ValueError("output_size と max_len は 1 以上にしてください")
        _check_heads(self.d_model, self.nhead)


class CausalTransformerRegressor(nn.Module):
    """入力の線形変換 + 位置エンコーディング → 因果マスク付きのエンコーダ
    → 最後の位置のベクトルから線形層で予測する。

    Parameters
    ----------
    config : TransformerConfig
        次元・ヘッドの数・層の数・位置エンコーディングの長さ。
    """

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Linear(config.input_size, config.d_model)
        pe = sinusoidal_positional_encoding(config.max_len, config.d_model)
        self.register_buffer("position", pe)  # 学習しない (max_len, d)
        layer = nn.TransformerEncoderLayer(
            config.d_model,
            config.nhead,
            config.dim_feedforward,
            dropout=0.0,
            batch_first=True,
        )
        self.encoder = nn.TransformerEncoder(
            layer, config.num_layers, enable_nested_tensor=False
        )
        self.head = nn.Linear(config.d_model, config.output_size)

    def embed_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """入力を線形変換し、位置エンコーディングを足す。

        Parameters
        ----------
        x : torch.Tensor
            形状 (B, T, input_size)。T は max_len 以下。

        Returns
        -------
        torch.Tensor
            位置を足したベクトル。形状 (B, T, d_model)
        """
        _check_input(x, self.config.input_size)
        if x.shape[1] > self.config.max_len:
            raise ValueError(
                f"seq_len は max_len({self.config.max_len})以下にしてください"
            )
        position = self.get_buffer("position")  # (max_len, d_model)
        return self.embed(x) + position[: x.shape[1]]

    def encode(self, x: torch.Tensor, causal: bool = True) -> torch.Tensor:
        """全位置の出力。位置 t の出力は入力の 0〜t だけで決まる(causal)。

        Parameters
        ----------
        x : 形状 (B, T, input_size)
        causal : False なら因果マスクを付けない(検査用)

        Returns
        -------
        形状 (B, T, d_model)
        """
        z = self.embed_inputs(x)
        mask = causal_mask(x.shape[1], x.device) if causal else None
        return self.encoder(z, mask=mask, is_causal=causal)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """最後の位置の出力から予測する。

        Parameters
        ----------
        x : 形状 (B, T, input_size)

        Returns
        -------
        予測。形状 (B, output_size)
        """
        return self.head(self.encode(x)[:, -1])

    def attention_weights(self, x: torch.Tensor) -> torch.Tensor:
        """各層のヘッドごとの注意の重み(因果マスク付き)。

        Parameters
        ----------
        x : torch.Tensor
            重みを調べる窓。形状 (B, T, input_size)

        Returns
        -------
        torch.Tensor
            層を積んだ重み。形状 (layers, B, heads, T, T)
            (行 = 見る位置、列 = 見られる位置)
        """
        h, mask = self.embed_inputs(x), causal_mask(x.shape[1], x.device)
        weights = []
        for layer in self.encoder.layers:
            _, w = layer.self_attn(
                h, h, h, attn_mask=mask, average_attn_weights=False
            )
            weights.append(w)
            h = layer(h, src_mask=mask, is_causal=True)
        return torch.stack(weights)


def future_change(
    encode: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    t: int,
    delta: float = 1.0,
) -> float:
    """時刻 t の入力に delta を足したとき、t より前の出力が動いた最大の幅。

    Parameters
    ----------
    encode : 形状 (B, T, input_size) → (B, T, d) の関数
    x, t, delta : 入力 (B, T, input_size)・変える時刻(1〜T − 1)・足す量

    Returns
    -------
    float
        最大の幅。0 なら encode は未来を見ない。
    """
    if not 0 < t < x.shape[1]:
        raise ValueError(f"t は 1 以上 {x.shape[1] - 1} 以下にしてください")
    changed = x.clone()
    changed[:, t] += delta  # 時刻 t の入力だけを変える
    with torch.no_grad():
        before, after = encode(x), encode(changed)
    return float((after[:, :t] - before[:, :t]).abs().max())
