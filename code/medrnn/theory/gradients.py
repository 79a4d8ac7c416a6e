"""勾配の大きさを測る道具: 時刻ごとの勾配ノルムと、勾配クリッピングの効果。"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn.utils import clip_grad_norm_, parameters_to_vector

from ..core.training import LossFn, train_step

BCE = nn.functional.binary_cross_entropy_with_logits  # 2 値分類の損失


def _check_batch(x: torch.Tensor, y: torch.Tensor) -> None:
    """x が (batch, seq_len, input_size)、y が同じ数の正解かを確かめる。"""
    if x.ndim != 3:
        raise ValueError(
            "x は形状 (batch, seq_len, input_size) にしてください"
            f"(受け取った形状: {tuple(x.shape)})"
        )
    if len(y) != len(x):
        raise ValueError(f"y の数 {len(y)} が x の数 {len(x)} と違います")


def input_gradient_norms(
    model: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: LossFn = BCE,
) -> np.ndarray:
    """損失 L の、各時刻の入力 x_t についての勾配の大きさ ‖∂L/∂x_t‖。

    Parameters
    ----------
    model : 入力系列から予測を返すもの(nn.Module など)
    x, y : 入力系列 (batch, seq_len, input_size) と正解 (batch, 1)
    loss_fn : 損失関数(既定は 2 値交差エントロピー)

    Returns
    -------
    np.ndarray : 形状 (seq_len,)。最後の要素が損失にいちばん近い時刻
    """
    _check_batch(x, y)
    x = x.detach().clone().requires_grad_()  # 入力も微分の対象にする
    loss = loss_fn(model(x), y)
    # grad の形状は (B, T, I)。重みの .grad は触らない
    (grad,) = torch.autograd.grad(loss, x)
    # バッチと特徴量をまとめたノルム
    return grad.norm(dim=(0, 2)).cpu().numpy()


def scale_recurrent_weights(model: nn.Module, factor: float) -> None:
    """再帰の重み W_hh(名前に weight_hh を含むもの)をすべて factor 倍する。

    Parameters
    ----------
    model : nn.Module
        重みをその場で書き換えるモデル。
    factor : float
        掛ける倍率。
    """
    if not math.isfinite(factor):
        raise ValueError(
            f"factor は有限の数にしてください(受け取った値: {factor})"
        )
    names = [
        name for name, _ in model.named_parameters() if "weight_hh" in name
    ]
    if not names:
        raise ValueError("weight_hh という名前のパラメータがありません")
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "weight_hh" in name:
                p.mul_(factor)


@dataclass
class UpdateTrace:
    """更新 1 回ごとの記録。"""

    loss: list[float] = field(default_factory=list)  # 更新前の損失
    # 勾配のノルム(切る前)
    grad_norm: list[float] = field(default_factory=list)
    update_norm: list[float] = field(default_factory=list)  # 重みの変化量 ‖Δθ‖


def _check_sgd(steps: int, lr: float, max_norm: float | None) -> None:
    """更新回数・学習率・クリッピングの上限が使える値かを確かめる。"""
    if steps < 1 or not lr > 0 or (max_norm is not None and not max_norm > 0):
        raise ValueError(
            "steps は 1 以上、lr と max_norm は正にしてください"
            f"(steps={steps}, lr={lr}, max_norm={max_norm})"
        )


# 本文に載せる関数なので、1 ページ(25 行)に収まる今の形のままにする
# fmt: off
def sgd_update_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                     steps: int, lr: float, max_norm: float | None = None,
                     loss_fn: LossFn = BCE) -> UpdateTrace:
    """SGD で steps 回更新し、勾配ノルムと実際の更新量 ‖Δθ‖ を記録する。

    max_norm を与えると、更新の前に勾配ノルムを max_norm 以下に縮める
    (勾配クリッピング)。None ならクリッピングしない。
    """
    _check_batch(x, y)
    _check_sgd(steps, lr, max_norm)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    limit = math.inf if max_norm is None else max_norm
    trace = UpdateTrace()

    def clip(m: nn.Module) -> None:  # 逆伝播のあと、更新の前に呼ばれる
        norm = clip_grad_norm_(m.parameters(), limit)  # 切る前のノルム
        trace.grad_norm.append(float(norm))
    for _ in range(steps):
        before = parameters_to_vector(model.parameters()).detach().clone()
        loss = train_step(model, optimizer, x, y, loss_fn=loss_fn,
                          before_step=clip)  # 学習の 1 歩(本書で共通)
        after = parameters_to_vector(model.parameters()).detach()
        trace.loss.append(loss.item())
        trace.update_norm.append(float((after - before).norm()))
    return trace
# fmt: on


def saturated_fraction(
    layer: nn.Module, x: torch.Tensor, threshold: float = 0.99
) -> float:
    """再帰層の出力 h_t のうち |h| > threshold の割合(tanh がほぼ飽和)。

    飽和した tanh の傾き 1 - h² はほぼ 0 なので、そこでは勾配が
    ほとんど流れない。

    Parameters
    ----------
    layer : nn.Module
        (output, state) を返す再帰層(nn.RNN など)。
    x : torch.Tensor
        入力系列。形状 (batch, seq_len, input_size)
    threshold : float
        飽和とみなす |h| の下限。

    Returns
    -------
    float
        割合(0〜1)。
    """
    if not 0 < threshold < 1:
        raise ValueError(
            "threshold は 0 と 1 の間にしてください"
            f"(受け取った値: {threshold})"
        )
    with torch.no_grad():
        output, _ = layer(x)  # (B, T, H)
    return float((output.abs() > threshold).float().mean())
