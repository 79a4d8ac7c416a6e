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
    """DP-SGD の 1 回分の勾配: 1 サンプルずつ切り詰め、足し、雑音を加える。

    per_sample: 1 サンプルずつの勾配(全パラメータを並べたもの)。
    形状 (B, P)。max_grad_norm が C、noise_multiplier が σ(雑音の標準偏差
    は σC)。expected_batch_size(ミニバッチの大きさの期待値)で割った
    勾配(形状 (P,))を返す。
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
    """Opacus の注意書き(安全な乱数でない・非推奨の hook)を隠す。"""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield


def make_private(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, config: DPConfig
) -> tuple[nn.Module, Any, DataLoader, Any]:
    """Opacus の PrivacyEngine で、モデル・最適化・DataLoader を DP 用に包む。

    DataLoader はポアソン抽出(各窓が確率 q で独立にミニバッチに入る)になる。
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

    model・optimizer・loader は :func:`make_private` で包んだもの。
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

    X: 形状 (N, seq_len, 1)、y: 形状 (N, n_ahead)(標準化した値、CPU)。
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
    """Opacus の RDP 会計係で、(σ, q, 更新の回数, δ) から ε を求め直す。"""
    from opacus.accountants import RDPAccountant

    accountant = RDPAccountant()
    accountant.history = [(noise_multiplier, sample_rate, steps)]
    return float(accountant.get_epsilon(delta))


def group_epsilon(epsilon: float, delta: float, k: int) -> tuple[float, float]:
    """k 個の記録をまとめて守るときの (ε, δ)(グループプライバシーの上界)。

    1 人の患者が k 個の窓を持つとき、その人全体についての保証は
    (kε, k e^{(k−1)ε} δ) まで弱まる(Dwork & Roth 2014)。
    """
    if k < 1:
        raise ValueError(f"k は 1 以上にしてください(受け取った値: {k})")
    log_delta = math.log(k) + (k - 1) * epsilon + math.log(delta)
    return k * epsilon, math.exp(min(log_delta, 700.0))  # 大きすぎれば打ち切る


def log10_group_delta(epsilon: float, delta: float, k: int) -> float:
    """グループプライバシーの δ の上界 k e^{(k−1)ε} δ の常用対数。"""
    return (math.log(k) + (k - 1) * epsilon + math.log(delta)) / math.log(10)


def membership_bound(epsilon: float, delta: float, fpr: float) -> float:
    """(ε, δ)-DP のもとで、偽陽性率 fpr の所属推定が達しうる真陽性率の上限。

    どんな攻撃でも TPR ≤ e^ε FPR + δ(かつ 1 以下)。
    """
    return min(1.0, math.exp(min(epsilon, 700.0)) * fpr + delta)


def opacus_clipped_gradient(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, max_grad_norm: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """雑音なし(σ = 0)の Opacus の勾配と、1 サンプルずつの勾配を返す。

    :func:`privatize_gradients` が Opacus と同じ計算をすることを確かめる
    ためのもの。返すのは (Opacus の勾配 (P,), 1 サンプルずつの勾配 (B, P))。
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
