"""付録「はじめての PyTorch」(book/primer.md)で見せる小さな部品。

テンソルの形、``nn.Module`` の書き方、autograd、素朴な学習ループを、
本文の章に入る前に 1 つずつ確かめるための、いちばん小さな例だけを置く。
本文の章の学習は :mod:`medrnn.core.training` の速いループを使う。
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ..core.repro import set_seed
from ..core.training import TrainConfig


def _check_window_sizes(n_windows: int, seq_len: int, input_size: int) -> None:
    """窓の数・長さ・項目の数が 1 以上の整数かを確かめる。"""
    sizes = {"n_windows": n_windows, "seq_len": seq_len}
    sizes["input_size"] = input_size
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(
                f"{name} は 1 以上の整数にしてください"
                f"(受け取った値: {value!r})"
            )


def _check_noise(noise_std: float) -> None:
    """ノイズの標準偏差が 0 以上の有限の数かを確かめる。"""
    if not (math.isfinite(noise_std) and noise_std >= 0):
        raise ValueError(
            "noise_std は 0 以上の有限の数にしてください"
            f"(受け取った値: {noise_std!r})"
        )


@dataclass(frozen=True)
class VitalWindowsConfig:
    """模擬バイタルの窓の設定(作ったあとは変えられない)。"""

    n_windows: int = 64  # 窓の数(何人分・何区間分あるか)
    seq_len: int = 12  # 窓の長さ(5 分ごと 12 回 = 1 時間)
    input_size: int = 2  # 各時刻の項目の数(心拍数と SpO2)
    noise_std: float = 0.1  # 標準化した値に乗る測定ノイズの標準偏差

    def __post_init__(self) -> None:
        _check_window_sizes(self.n_windows, self.seq_len, self.input_size)
        _check_noise(self.noise_std)


def make_vital_windows(
    config: VitalWindowsConfig, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """標準化した模擬バイタルの窓 X と、窓の直後の心拍数 y を作る。

    心拍数は窓ごとに直線的に上がるか下がり、ほかの項目は逆向きに動く。
    generator が None なら set_seed で固定した既定の乱数を使う。

    Returns
    -------
    X : 入力の窓。形状 (n_windows, seq_len, input_size)
    y : 窓の直後の心拍数(ノイズ込み)。形状 (n_windows, 1)
    """
    n, T, n_items = config.n_windows, config.seq_len, config.input_size
    level = torch.randn(n, 1, generator=generator)  # 窓の初めの水準
    slope = 0.1 * torch.randn(n, 1, generator=generator)  # 1 時刻の変化
    t = torch.arange(T + 1, dtype=torch.float32)  # 0..T(T は直後の時刻)
    hr = level + slope * t  # (n, T + 1)
    sign = torch.ones(n_items)
    sign[1:] = -1.0  # 心拍数のほかは逆向き
    clean = hr[:, :, None] * sign  # (n, T + 1, input_size)
    noisy = clean + config.noise_std * torch.randn(
        clean.shape, generator=generator
    )
    return noisy[:, :T], noisy[:, T, :1]  # (n, T, I) と (n, 1)


class WindowLinear(nn.Module):
    """窓のすべての値の重み付き和 + バイアスで次の値を予測するモデル。

    Parameters
    ----------
    seq_len, input_size : 窓の長さと、各時刻の項目の数
    """

    def __init__(self, seq_len: int, input_size: int) -> None:
        super().__init__()  # nn.Module の準備(先に呼ぶ)
        self.linear = nn.Linear(seq_len * input_size, 1)  # 重みとバイアス

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """窓を 1 列に並べ直して、線形の層に通す。

        Parameters
        ----------
        x : 入力の窓。形状 (batch, seq_len, input_size)

        Returns
        -------
        torch.Tensor : 予測。形状 (batch, 1)
        """
        flat = x.flatten(start_dim=1)  # (B, seq_len * input_size)
        return self.linear(flat)  # (B, 1)


def _grad_value(t: torch.Tensor) -> float:
    """t.grad(backward で入った勾配)を数で返す。まだなければ ValueError。"""
    if t.grad is None:
        raise ValueError("backward() を呼ぶ前なので .grad はまだありません")
    return float(t.grad)


def autograd_example(
    w: float, x: float, y: float
) -> tuple[float, float, float]:
    """損失 L = (w x − y)² の dL/dw を autograd で求める。

    Parameters
    ----------
    w, x, y : 重み・入力・正解(どれも 1 つの数)

    Returns
    -------
    loss, grad, by_hand : 損失、autograd の dL/dw、手計算 2 (w x − y) x
    """
    w_t = torch.tensor(w, requires_grad=True)  # 微分したい数
    loss = (w_t * x - y) ** 2  # 計算の記録が残る
    loss.backward()  # dL/dw を計算して w_t.grad に入れる
    by_hand = 2 * (w * x - y) * x
    return loss.item(), _grad_value(w_t), by_hand  # w_t.grad の値


def train_one_epoch(
    model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer
) -> float:
    """DataLoader のミニバッチを 1 周して学習し、平均の訓練損失を返す。

    Parameters
    ----------
    model : 学習するモデル。(B, seq_len, input_size) → (B, 1)
    loader : ミニバッチ (xb, yb) を順に出す DataLoader
    optimizer : model のパラメータを動かす最適化器

    Returns
    -------
    float : 窓の数で重みをつけた、この 1 周の平均の MSE
    """
    model.train()  # 訓練モード(ドロップアウトなどを有効に)
    total, n_seen = 0.0, 0
    for xb, yb in loader:  # xb: (B, seq_len, input_size), yb: (B, 1)
        optimizer.zero_grad()  # 前回の勾配を消す
        loss = nn.functional.mse_loss(model(xb), yb)  # 順伝播と損失
        loss.backward()  # 逆伝播: 各パラメータの .grad に勾配が入る
        optimizer.step()  # 勾配を使ってパラメータを少し動かす
        total += loss.item() * len(xb)
        n_seen += len(xb)
    return total / n_seen


def fit_plain(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, config: TrainConfig
) -> list[float]:
    """素朴なループで config.epochs エポック学習し、訓練損失の列を返す。

    Parameters
    ----------
    model : 学習するモデル(その場で更新される)
    X, y : 入力 (N, seq_len, input_size) と正解 (N, 1)。model と同じデバイス
    config : エポック数・バッチサイズ・学習率・シャッフルの有無

    Returns
    -------
    list[float] : エポックごとの平均の訓練損失。長さ config.epochs
    """
    dataset = TensorDataset(X, y)  # (窓, 正解) の組を番号で取り出せる
    loader = DataLoader(
        dataset, batch_size=config.batch_size, shuffle=config.shuffle
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    return [
        train_one_epoch(model, loader, optimizer) for _ in range(config.epochs)
    ]


def exercise_1(seq_len: int, input_size: int) -> tuple[int, int]:
    """練習問題 1: WindowLinear のパラメータの数を、式と実物で数える。

    Parameters
    ----------
    seq_len, input_size : WindowLinear に渡す窓の長さと項目の数

    Returns
    -------
    by_formula, counted : seq_len × input_size + 1 と、実際の要素数の合計
    """
    model = WindowLinear(seq_len, input_size)
    counted = sum(p.numel() for p in model.parameters())
    return seq_len * input_size + 1, counted


def exercise_2(w: float, x: float, y: float) -> tuple[float, float]:
    """練習問題 2: 勾配を消さずに backward を 2 回呼ぶと .grad はどうなるか。

    Parameters
    ----------
    w, x, y : :func:`autograd_example` と同じ損失 (w x − y)² の数

    Returns
    -------
    once, twice : 1 回目の backward の後と、2 回目の後の dL/dw
    """
    w_t = torch.tensor(w, requires_grad=True)
    ((w_t * x - y) ** 2).backward()
    once = _grad_value(w_t)  # w_t.grad の値
    ((w_t * x - y) ** 2).backward()  # zero_grad を忘れた 2 回目
    return once, _grad_value(w_t)


def exercise_3(
    config: VitalWindowsConfig, train: TrainConfig
) -> tuple[bool, bool]:
    """練習問題 3: 同じシードなら同じ学習、違うシードなら違う学習になるか。

    Parameters
    ----------
    config : 模擬バイタルの窓の設定(シードごとに作り直す)
    train : :func:`fit_plain` に渡す学習の設定

    Returns
    -------
    same, different : シード 0 で 2 回学習した損失の列が一致するか、
        シード 0 と 1 で一致しないか
    """
    losses = []
    for seed in (0, 0, 1):
        set_seed(seed)  # random・NumPy・PyTorch の乱数をまとめて固定
        X, y = make_vital_windows(config)
        model = WindowLinear(config.seq_len, config.input_size)
        losses.append(fit_plain(model, X, y, train))
    return losses[0] == losses[1], losses[0] != losses[2]
