"""``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` に線形層をつないだ回帰モデル。"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

RECURRENT_LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def _check_model_config(config: ModelConfig) -> None:
    """ModelConfig の値が使えるかを確かめる。"""
    if config.kind not in RECURRENT_LAYERS:
        raise ValueError(
            f"kind は {sorted(RECURRENT_LAYERS)} のどれかにしてください"
            f"(受け取った値: {config.kind!r})"
        )
    for name in ("input_size", "hidden_size", "num_layers", "output_size"):
        if getattr(config, name) < 1:
            raise ValueError(
                f"{name} は 1 以上にしてください"
                f"(受け取った値: {getattr(config, name)})"
            )
    if not 0.0 <= config.dropout < 1.0:
        raise ValueError(
            "dropout は 0 以上 1 未満にしてください"
            f"(受け取った値: {config.dropout})"
        )


def _check_input(x: torch.Tensor, input_size: int) -> None:
    """入力が形状 (batch, seq_len, input_size) かを確かめる。"""
    if x.ndim != 3 or x.shape[-1] != input_size:
        raise ValueError(
            f"入力は形状 (batch, seq_len, {input_size}) にしてください"
            f"(受け取った形状: {tuple(x.shape)})"
        )


@dataclass(frozen=True)
class ModelConfig:
    """再帰層 + 線形層モデルの設定。名前は PyTorch の引数に合わせる。"""

    kind: str = "rnn"  # 再帰層の種類: "rnn"・"lstm"・"gru"
    input_size: int = 1  # 各時刻の特徴量の数
    hidden_size: int = 32  # 隠れ状態の次元
    num_layers: int = 1  # 再帰層を積む段数
    output_size: int = 1  # 予測する値の数
    dropout: float = 0.0  # 層と層の間のドロップアウト率(num_layers>=2 で有効)

    def __post_init__(self) -> None:
        """設定の値が使えるかを確かめる(使えなければ ValueError)。"""
        _check_model_config(self)


RNN_MODEL = ModelConfig(kind="rnn", hidden_size=32, num_layers=1)
LSTM_MODEL = ModelConfig(kind="lstm", hidden_size=50, num_layers=2)
# LSTM と同じ大きさ
GRU_MODEL = ModelConfig(kind="gru", hidden_size=50, num_layers=2)


class RecurrentRegressor(nn.Module):
    """系列を読み、最後の時刻の隠れ状態から次の値を予測するモデル。"""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        layer = RECURRENT_LAYERS[config.kind]
        self.recurrent = layer(
            input_size=config.input_size,
            hidden_size=config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.dropout,
            batch_first=True,
        )
        self.head = nn.Linear(config.hidden_size, config.output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: 形状 (batch, seq_len, input_size)
        → 予測: 形状 (batch, output_size)。
        """
        _check_input(x, self.config.input_size)
        output, _ = self.recurrent(x)  # (B, T, H)。初期状態は 0
        # 最後の時刻だけ使う: (B, H) → (B, O)
        return self.head(output[:, -1, :])


def count_parameters(model: nn.Module) -> int:
    """学習するパラメータの総数を返す。

    Parameters
    ----------
    model : nn.Module
        数えるモデル(requires_grad のパラメータだけ数える)。

    Returns
    -------
    int
        パラメータの要素の数。
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
