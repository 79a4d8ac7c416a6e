"""予測の根拠の帰属(attribution)と、その健全性の検査。

帰属は Captum で求める。どの方法も「入力の各時刻が、出力の 1 つ(CGM なら
ある先の予測、心電図の拍なら異常のロジット)にどれだけ寄与したか」を
入力と同じ形で返す。健全性の検査は Adebayo et al. (2018) のパラメータの
無作為化: モデルの層を出力側から順に初期化し直しても帰属がほとんど
変わらないなら、その帰属はモデルではなく入力の形を映しているだけである。
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
from captum.attr import GradientShap, IntegratedGradients, Occlusion
from scipy import stats as _st
from torch import nn

from ..core.repro import set_seed

METHODS = ("統合勾配", "遮蔽", "GradientSHAP")  # 本文で使う帰属の方法
# 統合勾配の積分の分点の数。拍の分類器のように出力が急に変わるモデルでは、
# 32 点では完全性(合計 = 予測の差)のずれが数 % から 10% 程度残ることがある
IG_STEPS = 128
OCCLUSION_WIDTH = 3  # 遮蔽する連続した時刻の数(CGM なら 15 分)


def _check_inputs(x: torch.Tensor, baseline: torch.Tensor) -> None:
    """x が (N, T, C) の有限な値で、baseline が x と同じ形か (T, C) か。"""
    if x.ndim != 3 or len(x) == 0:
        raise ValueError(
            f"x は形状 (N, seq_len, input_size) にしてください"
            f"(受け取った形状: {tuple(x.shape)})"
        )
    if not torch.isfinite(x).all() or not torch.isfinite(baseline).all():
        raise ValueError("x か baseline に NaN か無限大が含まれています")
    if baseline.shape not in (x.shape, x.shape[1:]):
        raise ValueError(
            f"baseline は形状 {tuple(x.shape[1:])} か {tuple(x.shape)}"
            f" にしてください(受け取った形状: {tuple(baseline.shape)})"
        )


def attribute(
    model: nn.Module,
    x: torch.Tensor,
    method: str,
    baseline: torch.Tensor,
    target: int = 0,
    references: torch.Tensor | None = None,
) -> np.ndarray:
    """入力の各時刻の帰属を求める(出力の target 番目について)。

    Parameters
    ----------
    model : nn.Module
        説明するモデル(評価モードにして使う)。出力は形状 (N, n_out)。
    x : 形状 (N, seq_len, input_size)
        説明する入力(モデルに入れる標準化した値)。
    method : "統合勾配"・"遮蔽"・"GradientSHAP"
    baseline : 形状 (seq_len, input_size)
        「情報のない入力」。統合勾配はここから x まで勾配を積分し、
        遮蔽は窓をこの値で置き換える。
    target : int
        説明する出力の列の番号(CGM なら何番目の先の予測か)。
    references : 形状 (M, seq_len, input_size)
        GradientSHAP の基準の分布(訓練の窓など)。

    Returns
    -------
    np.ndarray
        帰属(出力と同じ単位)。形状 (N, seq_len, input_size)
    """
    _check_inputs(x, baseline)
    model = model.eval()
    base = baseline.expand_as(x).contiguous()
    with torch.backends.cudnn.flags(enabled=False):  # GPU の RNN の逆伝播
        if method == "統合勾配":
            a = IntegratedGradients(model).attribute(
                x, base, target=target, n_steps=IG_STEPS
            )
        elif method == "遮蔽":
            a = Occlusion(model).attribute(
                x,
                (OCCLUSION_WIDTH, 1),
                strides=(1, 1),
                baselines=base,
                target=target,
            )
        else:
            a = _gradient_shap(model, x, target, references)
    return a.detach().cpu().numpy()


def _gradient_shap(
    model: nn.Module,
    x: torch.Tensor,
    target: int,
    references: torch.Tensor | None,
) -> torch.Tensor:
    """GradientSHAP(基準を分布から選ぶ統合勾配の期待値)。乱数は固定する。"""
    if references is None or references.shape[1:] != x.shape[1:]:
        raise ValueError(
            "GradientSHAP には x と同じ (seq_len, input_size) の references"
            " が必要です"
        )
    set_seed(0)
    return GradientShap(model).attribute(
        x, references, n_samples=16, stdevs=0.0, target=target
    )


def randomized_copy(
    model: nn.Module, layers: list[str], seed: int
) -> nn.Module:
    """model を複製し、layers の層(名前)のパラメータを初期化し直す。

    Parameters
    ----------
    model : nn.Module
        元のモデル(変更しない)。
    layers : list[str]
        初期化し直す層の属性名(例 "head"・"recurrent")。
    seed : int
        引き直す重みの乱数のシード。

    Returns
    -------
    nn.Module
        一部の層を学習前の分布から引き直した複製(評価モード)。
    """
    twin = copy.deepcopy(model)
    set_seed(seed)  # 引き直す重みの乱数(本書の他の乱数と同じ扱い)
    for name in layers:
        layer = getattr(twin, name)
        layer.reset_parameters()  # 学習する前と同じ分布から引き直す
    return twin.eval()


def rank_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """2 つの帰属の、例ごとの順位相関(絶対値のスピアマン)。

    各例の帰属の大きさの順位がどれだけ同じか。

    Parameters
    ----------
    a, b : np.ndarray
        同じ入力に対する 2 つの帰属。形状 (N, ...)

    Returns
    -------
    np.ndarray
        例ごとのスピアマンの順位相関(−1〜1)。形状 (N,)
    """
    if a.shape != b.shape or a.ndim < 2:
        raise ValueError(
            f"a と b は同じ形状 (N, ...) にしてください"
            f"(受け取った形状: {a.shape}, {b.shape})"
        )
    flat_a = np.abs(a.reshape(len(a), -1))
    flat_b = np.abs(b.reshape(len(b), -1))
    return np.array(
        [_st.spearmanr(u, v).statistic for u, v in zip(flat_a, flat_b)]
    )


def cascading_randomization(
    model: nn.Module,
    explain: Callable[[nn.Module], np.ndarray],
    cascade: tuple[str, ...] = ("head", "recurrent"),
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """出力側の層から順に初期化し直し、元の帰属との順位相関を求める。

    explain(model) は帰属(形状 (N, ...))を返す関数。

    Returns
    -------
    dict
        初期化し直した層の並び(例 "head+recurrent")→ 例ごとの順位相関。
        形状 (N,)。1 に近いほど「モデルを壊しても帰属が変わらない」。
    """
    original = explain(model)
    out = {}
    for k in range(1, len(cascade) + 1):
        twin = randomized_copy(model, list(cascade[:k]), seed)
        out["+".join(cascade[:k])] = rank_similarity(original, explain(twin))
    return out


def mass_inside(attr: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """帰属の絶対値のうち、inside の時刻に入る割合。

    Parameters
    ----------
    attr : np.ndarray
        帰属。形状 (N, seq_len, ...)(時刻より後ろの軸は足し合わせる)
    inside : np.ndarray
        数える時刻の印(真偽値)。形状 (seq_len,)

    Returns
    -------
    np.ndarray
        0〜1 の割合(帰属がすべて 0 の例は 0)。形状 (N,)
    """
    a = np.abs(attr.reshape(attr.shape[0], attr.shape[1], -1)).sum(axis=2)
    mask = np.asarray(inside, dtype=bool)
    if mask.shape != (a.shape[1],):
        raise ValueError(
            f"inside は形状 ({a.shape[1]},) にしてください"
            f"(受け取った形状: {mask.shape})"
        )
    total = a.sum(axis=1)
    return a[:, mask].sum(axis=1) / np.where(total > 0, total, np.inf)
