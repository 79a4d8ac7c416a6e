"""差分プライバシー: Opacus の DP-SGD で CGM の予測モデルを学習する。

DP-SGD(Abadi et al. 2016)は、ミニバッチの勾配を 1 サンプル(ここでは
1 つの窓)ずつ求め、それぞれのノルムを C 以下に切り詰め(クリッピング)、
足してから標準偏差 σC の正規分布の雑音を加える。どれだけのプライバシーを
使ったか(ε)は、Opacus の会計係(accountant)が、雑音の大きさ σ・
サンプリング率 q・更新の回数から計算する。

Opacus は 1 サンプルずつの勾配を層ごとに計算するので、再帰層は
``nn.GRU`` の代わりに、同じ計算を Opacus が扱える線形層で組んだ
``opacus.layers.DPGRU``(LSTM なら ``DPLSTM``)を使う。
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ..core.models.nets import ModelConfig, RecurrentRegressor
from ..core.repro import set_seed
from ..core.training import History, epoch_mean

DELTA = 1e-5  # 本書の δ(訓練の窓の数の逆数より十分小さく)


@dataclass(frozen=True)
class DPConfig:
    """DP-SGD の設定。"""

    noise_multiplier: float  # σ: 雑音の標準偏差 ÷ クリッピングのノルム
    max_grad_norm: float = 1.0  # C: 1 サンプルの勾配のノルムの上限
    epochs: int = 3  # データ全体を何周するか(期待値として)
    batch_size: int = 256  # ミニバッチの大きさの期待値(ポアソン抽出)
    lr: float = 5e-3  # Adam の学習率
    delta: float = DELTA  # (ε, δ)-DP の δ

    def __post_init__(self) -> None:
        _check_dp_config(self)


def _check_dp_config(config: DPConfig) -> None:
    """DPConfig の値が使えるかを確かめる。"""
    values = (config.max_grad_norm, config.lr, config.delta)
    if not all(v > 0 and v < float("inf") for v in values):
        raise ValueError(
            "max_grad_norm・lr・delta は正の有限の値にしてください"
            f"(受け取った値: {values})"
        )
    if not 0 <= config.noise_multiplier < float("inf"):
        raise ValueError(
            "noise_multiplier は 0 以上の有限の値にしてください"
            f"(受け取った値: {config.noise_multiplier})"
        )
    if config.epochs < 1 or config.batch_size < 1 or config.delta >= 1:
        raise ValueError(
            "epochs と batch_size は 1 以上、delta は 1 未満にしてください"
        )


def privatize_gradients(
    per_sample: torch.Tensor,
    max_grad_norm: float,
    noise_multiplier: float,
    expected_batch_size: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """DP-SGD の 1 回の勾配 (P,): 1 サンプルずつ切り詰め、足し、雑音を加える。

    Parameters
    ----------
    per_sample : 1 サンプルずつの勾配(全パラメータを並べたもの)。形状 (B, P)
    max_grad_norm, noise_multiplier : C と σ(雑音の標準偏差は σC)
    expected_batch_size, generator : 割る数(バッチの大きさの期待値)と雑音の乱数
    """
    norms = per_sample.norm(dim=1)  # (B,) 各サンプルの勾配のノルム
    factor = (max_grad_norm / (norms + 1e-6)).clamp(max=1.0)  # (B,)
    summed = (factor[:, None] * per_sample).sum(dim=0)  # (P,) 切り詰めて和
    noise = torch.normal(
        0.0,
        noise_multiplier * max_grad_norm,
        summed.shape,
        generator=generator,
    )
    return (summed + noise) / expected_batch_size


DP_LAYERS = {"rnn": "DPRNN", "lstm": "DPLSTM", "gru": "DPGRU"}  # Opacus の層


def dp_forecaster(config: ModelConfig) -> RecurrentRegressor:
    """再帰層を Opacus の DP 用の層に替えた RecurrentRegressor。

    計算は ``nn.GRU`` などと同じで、1 サンプルずつの勾配を求められる。

    Parameters
    ----------
    config : ModelConfig
        モデルの設定。kind は "rnn"・"lstm"・"gru" のどれか。

    Returns
    -------
    RecurrentRegressor
        recurrent を DPRNN・DPLSTM・DPGRU に替えたモデル。入力の形状
        (N, seq_len, input_size) は元と同じ
    """
    from opacus import layers

    model = RecurrentRegressor(config)
    layer = getattr(layers, DP_LAYERS[config.kind])
    model.recurrent = layer(
        config.input_size,
        config.hidden_size,
        num_layers=config.num_layers,
        batch_first=True,
    )
    return model


@dataclass
class DPRun:
    """DP-SGD で 1 回学習した結果。"""

    model: nn.Module  # 学習したモデル(Opacus の包みを外したもの)
    config: DPConfig  # 設定
    epsilon: float  # 会計係(RDP)が報告した ε(δ = config.delta)
    sample_rate: float  # q: 1 つの窓が各ミニバッチに入る確率
    steps: int  # 更新の回数
    history: History  # エポックごとの訓練損失(標準化した MSE)


@contextmanager
def quiet_opacus() -> Iterator[None]:
    """Opacus の注意書き(安全な乱数でない・非推奨の hook)を隠す。

    Returns
    -------
    Iterator[None]
        with 文で使う。中の UserWarning と FutureWarning を無視する。
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield


def make_private(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, config: DPConfig
) -> tuple[nn.Module, Any, DataLoader, Any]:
    """Opacus の PrivacyEngine で、モデル・最適化・DataLoader を DP 用に包む。

    DataLoader はポアソン抽出(各窓が確率 q で独立にミニバッチに入る)になる。

    Parameters
    ----------
    model, X, y : 包むモデル、入力窓 (N, seq_len, 1)、正解 (N, n_ahead)
    config : σ・C・ミニバッチの大きさの期待値・学習率
    """
    from opacus import PrivacyEngine

    engine = PrivacyEngine(accountant="rdp")
    loader = DataLoader(TensorDataset(X, y), batch_size=config.batch_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    model, optimizer, loader = engine.make_private(
        module=model,
        optimizer=optimizer,
        data_loader=loader,
        noise_multiplier=config.noise_multiplier,
        max_grad_norm=config.max_grad_norm,
    )
    return model, optimizer, loader, engine


def dp_epoch(model: nn.Module, optimizer: Any, loader: DataLoader) -> float:
    """DP-SGD で 1 エポック学習し、平均の訓練損失を返す(教科書どおりの形)。

    Parameters
    ----------
    model, optimizer, loader
        :func:`make_private` で包んだモデル・最適化・DataLoader。

    Returns
    -------
    float
        エポックの平均の訓練損失(窓の数で重み付けした MSE)。
    """
    model.train()
    losses, sizes = [], []
    for xb, yb in loader:  # ポアソン抽出のミニバッチ
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(xb), yb)
        loss.backward()  # 1 サンプルずつの勾配も求まる
        optimizer.step()  # 切り詰め・雑音・Adam の更新
        losses.append(loss.detach())
        sizes.append(len(xb))
    return epoch_mean(losses, torch.tensor(sizes, dtype=torch.float64))


def train_dp(
    X: torch.Tensor,
    y: torch.Tensor,
    model_config: ModelConfig,
    config: DPConfig,
    seed: int,
) -> DPRun:
    """DP-SGD で学習し、会計係が報告する ε とともに返す。

    Parameters
    ----------
    X : torch.Tensor
        標準化した入力窓(CPU)。形状 (N, seq_len, 1)
    y : torch.Tensor
        標準化した正解(CPU)。形状 (N, n_ahead)
    model_config : ModelConfig
        再帰モデルの設定(再帰層は :func:`dp_forecaster` が DP 用に替える)。
    config : DPConfig
        σ・C・エポック数・バッチサイズ・学習率・δ。
    seed : int
        乱数の種(:func:`set_seed` に渡す。重みの初期値などが決まる)。

    Returns
    -------
    DPRun
        学習したモデル・ε・サンプリング率 q・更新の回数・訓練損失の履歴。
    """
    set_seed(seed)
    model = dp_forecaster(model_config)  # 学習で重みが更新される本体
    with quiet_opacus():
        private, optimizer, loader, engine = make_private(model, X, y, config)
        history = History()
        for _ in range(config.epochs):
            history.train_loss.append(dp_epoch(private, optimizer, loader))
        epsilon = float(engine.get_epsilon(config.delta))
    return DPRun(
        model,
        config,
        epsilon,
        1 / len(loader),
        config.epochs * len(loader),
        history,
    )


def rdp_epsilon(
    noise_multiplier: float, sample_rate: float, steps: int, delta: float
) -> float:
    """Opacus の RDP 会計係で、(σ, q, 更新の回数, δ) から ε を求め直す。

    Parameters
    ----------
    noise_multiplier, sample_rate : float
        σ(雑音の標準偏差 ÷ クリッピングのノルム)と、q(1 つの窓が
        各ミニバッチに入る確率、0〜1)。
    steps : int
        更新の回数。
    delta : float
        (ε, δ)-DP の δ。

    Returns
    -------
    float
        ε。
    """
    from opacus.accountants import RDPAccountant

    accountant = RDPAccountant()
    accountant.history = [(noise_multiplier, sample_rate, steps)]
    return float(accountant.get_epsilon(delta))


def group_epsilon(epsilon: float, delta: float, k: int) -> tuple[float, float]:
    """k 個の記録をまとめて守るときの (ε, δ)(グループプライバシーの上界)。

    1 人の患者が k 個の窓を持つとき、その人全体についての保証は
    (kε, k e^{(k−1)ε} δ) まで弱まる(Dwork & Roth 2014)。

    Parameters
    ----------
    epsilon, delta : float
        1 つの記録(窓)についての (ε, δ)。
    k : int
        まとめて守る記録の数(1 以上)。

    Returns
    -------
    tuple[float, float]
        (kε, k e^{(k−1)ε} δ)。δ は指数が 700 を超えないよう打ち切る。
    """
    if k < 1:
        raise ValueError(f"k は 1 以上にしてください(受け取った値: {k})")
    log_delta = math.log(k) + (k - 1) * epsilon + math.log(delta)
    return k * epsilon, math.exp(min(log_delta, 700.0))  # 大きすぎれば打ち切る


def log10_group_delta(epsilon: float, delta: float, k: int) -> float:
    """グループプライバシーの δ の上界 k e^{(k−1)ε} δ の常用対数。

    Parameters
    ----------
    epsilon, delta, k
        :func:`group_epsilon` と同じ。ここでは δ がどれだけ大きくなっても
        打ち切らない(対数で返すので溢れない)。

    Returns
    -------
    float
        log10(k e^{(k−1)ε} δ)。
    """
    return (math.log(k) + (k - 1) * epsilon + math.log(delta)) / math.log(10)


def membership_bound(epsilon: float, delta: float, fpr: float) -> float:
    """(ε, δ)-DP のもとで、偽陽性率 fpr の所属推定が達しうる真陽性率の上限。

    どんな攻撃でも TPR ≤ e^ε FPR + δ(かつ 1 以下)。

    Parameters
    ----------
    epsilon, delta : float
        学習が満たす (ε, δ)-DP。
    fpr : float
        攻撃の偽陽性率(0〜1)。

    Returns
    -------
    float
        真陽性率の上限 min(1, e^ε fpr + δ)。
    """
    return min(1.0, math.exp(min(epsilon, 700.0)) * fpr + delta)


def opacus_clipped_gradient(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, max_grad_norm: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """雑音なし(σ = 0)の Opacus の勾配と、1 サンプルずつの勾配を返す。

    :func:`privatize_gradients` が Opacus と同じ計算をすることを確かめる
    ためのもの。

    Parameters
    ----------
    model : nn.Module
        :func:`dp_forecaster` のモデル(パラメータの数 P)。
    X, y : torch.Tensor
        1 つのミニバッチ全体。形状 (B, seq_len, 1) と (B, n_ahead)
    max_grad_norm : float
        C: 1 サンプルの勾配のノルムの上限。

    Returns
    -------
    tuple[torch.Tensor, torch.Tensor]
        (Opacus の勾配 (P,), 1 サンプルずつの勾配 (B, P))。
    """
    config = DPConfig(0.0, max_grad_norm, batch_size=len(X))
    with quiet_opacus():
        private, optimizer, _, _ = make_private(model, X, y, config)
        optimizer.zero_grad()
        nn.functional.mse_loss(private(X), y).backward()
        per_sample = torch.cat(
            [p.grad_sample.reshape(len(X), -1) for p in optimizer.params],
            dim=1,
        )
        optimizer.pre_step()  # 切り詰め・雑音(0)・割り算
        grad = torch.cat([p.grad.reshape(-1) for p in optimizer.params])
    return grad, per_sample
