"""学習ループ。

本書の学習関数 :func:`fit` は、DataLoader を使う教科書どおりのループ
(:func:`fit_with_dataloader`)とまったく同じ順序でミニバッチを作り、
同じ計算をする。違いは、テンソルを直接インデックスして DataLoader の
手間(1 サンプルずつ取り出して積み直す処理)を省いていることだけである。
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from .evaluation import predict
from .repro import configure_torch, set_seed

# 損失関数: loss_fn(予測, 正解) -> 0 次元テンソル
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class TrainConfig:
    """学習の設定。"""

    epochs: int = 200  # データ全体を何周するか
    batch_size: int = 16  # 1 回の更新に使う窓の数
    lr: float = 1e-3  # Adam の学習率
    shuffle: bool = True  # エポックごとに窓の順番を混ぜるか
    # 端数のミニバッチを捨てるか(DataLoader と同じ意味)
    drop_last: bool = False
    # Adam の更新を 1 つの融合カーネルで行う(数式は同じで速い)
    fused_adam: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(
                f"epochs は 1 以上にしてください(受け取った値: {self.epochs})"
            )
        if self.batch_size < 1:
            raise ValueError(
                "batch_size は 1 以上にしてください"
                f"(受け取った値: {self.batch_size})"
            )
        if not self.lr > 0:
            raise ValueError(
                f"lr は正の値にしてください(受け取った値: {self.lr})"
            )


@dataclass
class History:
    """学習の記録。損失はエポックごとの平均(既定は平均二乗誤差)。"""

    train_loss: list[float] = field(default_factory=list)  # 訓練損失
    val_loss: list[float] = field(default_factory=list)  # 検証損失(あれば)
    # 各エポック終了までの累積秒
    seconds: list[float] = field(default_factory=list)
    # 記録を始めた時刻(time.perf_counter() の値)
    start: float = field(
        default_factory=time.perf_counter, repr=False, compare=False
    )

    def log(self, train_loss: float, val_loss: float | None = None) -> None:
        """1 エポックの損失と、記録を始めてからの秒数を足す。

        Parameters
        ----------
        train_loss : そのエポックの訓練損失
        val_loss : そのエポックの終わりの検証損失(検証しないなら None)
        """
        self.train_loss.append(train_loss)
        if val_loss is not None:
            self.val_loss.append(val_loss)
        self.seconds.append(time.perf_counter() - self.start)

    @property
    def best_epoch(self) -> int:
        """検証損失が最小になったエポック(1 始まり)。"""
        if not self.val_loss:
            raise ValueError(
                "検証データなしで学習したので best_epoch はありません"
            )
        return int(torch.tensor(self.val_loss).argmin()) + 1


def _check_xy(X: torch.Tensor, y: torch.Tensor) -> None:
    """入力と正解の形状が学習に使えるかを確かめる。"""
    if X.ndim != 3:
        raise ValueError(
            "X は形状 (N, seq_len, input_size) にしてください"
            f"(受け取った形状: {tuple(X.shape)})"
        )
    if y.ndim != 2 or len(y) != len(X):
        raise ValueError(
            f"y は形状 ({len(X)}, output_size) にしてください"
            f"(受け取った形状: {tuple(y.shape)})"
        )
    if len(X) == 0:
        raise ValueError("学習データが空です")


def epoch_order(n: int, shuffle: bool) -> torch.Tensor:
    """1 エポック分の窓の順番。

    DataLoader(shuffle=True) と同じ乱数の使い方をする。

    Parameters
    ----------
    n : 窓の数
    shuffle : False なら 0, 1, ..., n - 1 のまま

    Returns
    -------
    torch.Tensor
        窓の番号の並べ替え。形状 (n,)
    """
    if not shuffle:
        return torch.arange(n)
    # DataLoader の base_seed の分
    torch.empty((), dtype=torch.int64).random_()
    seed = int(torch.empty((), dtype=torch.int64).random_().item())
    generator = torch.Generator()
    generator.manual_seed(seed)
    return torch.randperm(n, generator=generator)


def clear_grads(optimizer: torch.optim.Optimizer) -> None:
    """前回の勾配を消す。

    optimizer.zero_grad() と同じ結果(勾配を None にする)で、より軽い。

    Parameters
    ----------
    optimizer : 勾配を消すパラメータを持つ最適化手法
    """
    for group in optimizer.param_groups:
        for p in group["params"]:
            p.grad = None


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    xb: torch.Tensor,
    yb: torch.Tensor,
    *,
    loss_fn: LossFn = nn.functional.mse_loss,
    before_step: Callable[[nn.Module], None] | None = None,
) -> torch.Tensor:
    """ミニバッチ 1 つで 1 回更新し、そのバッチの損失を返す。

    損失は既定で MSE(回帰)。分類では交差エントロピーなどを渡す。
    before_step(model) は逆伝播のあと更新の前に呼ぶ(勾配の加工用)。
    """
    loss = loss_fn(model(xb), yb)  # 予測と正解のずれ(既定は MSE)
    clear_grads(optimizer)  # 前回の勾配を消す(optimizer.zero_grad() と同じ)
    loss.sum().backward()  # 誤差逆伝播(BPTT)。値が複数なら和の勾配
    if before_step is not None:
        before_step(model)
    optimizer.step()  # 勾配の方向にパラメータを少し動かす
    return loss.detach()  # .item() は毎回呼ばず、エポックの終わりに 1 回だけ


def batch_sizes(n: int, batch_size: int, drop_last: bool) -> torch.Tensor:
    """1 エポックの各ミニバッチの大きさ(DataLoader と同じ切り方)。

    Parameters
    ----------
    n : int
        窓の数。
    batch_size : int
        ミニバッチの大きさ。
    drop_last : bool
        True なら、batch_size に満たない最後のミニバッチを捨てる。

    Returns
    -------
    torch.Tensor
        各ミニバッチの窓の数(float64)。形状 (n_batches,)
    """
    n_used = n - n % batch_size if drop_last else n
    return torch.tensor(
        [
            min(batch_size, n_used - start)
            for start in range(0, n_used, batch_size)
        ],
        dtype=torch.float64,
    )


def run_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    X: torch.Tensor,
    y: torch.Tensor,
    config: TrainConfig,
    loss_fn: LossFn = nn.functional.mse_loss,
) -> float:
    """全データを 1 周学習し、サンプル平均の訓練損失を返す。"""
    model.train()
    order = epoch_order(len(X), config.shuffle).to(X.device)
    sizes = batch_sizes(len(X), config.batch_size, config.drop_last).to(
        X.device
    )
    n_used = int(sizes.sum())
    # 1 回並べ替えれば、各ミニバッチは切り出すだけ(コピーなし)
    # 各 (B, T, input_size)
    X_batches = X[order][:n_used].split(config.batch_size)
    # 各 (B, output_size)
    y_batches = y[order][:n_used].split(config.batch_size)
    losses = [
        train_step(model, optimizer, xb, yb, loss_fn=loss_fn)
        for xb, yb in zip(X_batches, y_batches)
    ]
    return epoch_mean(losses, sizes)


def epoch_mean(losses: list[torch.Tensor], sizes: torch.Tensor) -> float:
    """ミニバッチごとの損失を、バッチの大きさで重み付けして平均する。

    数に直すのは 1 回だけ。

    Parameters
    ----------
    losses : list[torch.Tensor]
        ミニバッチごとの損失(0 次元)。
    sizes : torch.Tensor
        ミニバッチごとの窓の数(:func:`batch_sizes`)。形状 (n_batches,)

    Returns
    -------
    float
        窓 1 つあたりの平均の損失。
    """
    return (torch.stack(losses).double() @ sizes).item() / float(sizes.sum())


def evaluate_loss(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    loss_fn: LossFn = nn.functional.mse_loss,
) -> float:
    """全データを 1 回の順伝播で評価し、損失(既定は MSE)を返す。

    Parameters
    ----------
    model : 評価するモデル(X と同じデバイス)
    X, y : 入力窓 (N, seq_len, input_size) と正解 (N, output_size)
    loss_fn : 損失 loss_fn(予測, 正解)

    Returns
    -------
    float
        損失の値。
    """
    model.eval()
    with torch.inference_mode():
        return loss_fn(model(X), y).item()


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Adam:
    """Adam を作る。

    fused_adam なら全パラメータの更新を 1 回の計算にまとめる。

    Parameters
    ----------
    model : nn.Module
        学習するモデル。
    config : TrainConfig
        学習率 lr と fused_adam を使う。

    Returns
    -------
    torch.optim.Adam
        model のパラメータを更新する最適化手法。
    """
    return torch.optim.Adam(
        model.parameters(), lr=config.lr, fused=config.fused_adam or None
    )


def fit(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    config: TrainConfig,
    val: tuple[torch.Tensor, torch.Tensor] | None = None,
    loss_fn: LossFn = nn.functional.mse_loss,
) -> History:
    """Adam でモデルを学習する(損失は既定で MSE)。

    Parameters
    ----------
    model : 学習するモデル(X と同じデバイスに置く)
    X, y : 入力窓 (N, seq_len, input_size) と正解 (N, output_size)
    config : エポック数・バッチサイズ・学習率など
    val : 毎エポックの終わりに損失を測る検証データ (X_val, y_val) か None
    loss_fn : 損失 loss_fn(予測, 正解)。分類なら交差エントロピーなど
    """
    _check_xy(X, y)
    optimizer, history = make_optimizer(model, config), History()
    for _ in range(config.epochs):
        loss = run_epoch(model, optimizer, X, y, config, loss_fn=loss_fn)
        val_loss = evaluate_loss(model, *val, loss_fn=loss_fn) if val else None
        history.log(loss, val_loss)
    return history


def _check_patience(patience: int) -> None:
    """早期終了の patience が 1 以上かを確かめる。"""
    if patience < 1:
        raise ValueError(
            f"patience は 1 以上にしてください(受け取った値: {patience})"
        )


class EarlyStopping:
    """早期終了の判定役。検証損失が最良のときの重みを覚えておき、
    patience エポック続けて改善しなければ止めどきを知らせる。
    """

    def __init__(self, model: nn.Module, patience: int) -> None:
        _check_patience(patience)
        self.patience = patience  # 改善なしを何エポックまで待つか
        self.best_state = copy.deepcopy(model.state_dict())  # 最良の重み
        self.since_best = 0  # 最後に改善してからのエポック数

    def should_stop(self, model: nn.Module, val_loss: list[float]) -> bool:
        """最新のエポックの検証損失 val_loss[-1] を見て、止めるなら True。"""
        if val_loss[-1] <= min(val_loss):  # これまでで最良(同点も含む)
            self.best_state = copy.deepcopy(model.state_dict())
            self.since_best = 0
        else:
            self.since_best += 1
        return self.since_best >= self.patience


def fit_early_stopping(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    config: TrainConfig,
    val: tuple[torch.Tensor, torch.Tensor],
    patience: int = 20,
    loss_fn: LossFn = nn.functional.mse_loss,
) -> History:
    """検証損失が patience エポック続けて改善しなければ止め、最良の重みに戻す。

    X, y, config, loss_fn は fit と同じ。val には訓練部分の末尾から
    切り出した検証データを渡す(テストデータは使わない)。
    """
    _check_xy(X, y)
    stopper = EarlyStopping(model, patience)  # 学習前の重みを最良として覚える
    optimizer, history = make_optimizer(model, config), History()
    for _ in range(config.epochs):
        loss = run_epoch(model, optimizer, X, y, config, loss_fn=loss_fn)
        history.log(loss, evaluate_loss(model, *val, loss_fn=loss_fn))
        if stopper.should_stop(model, history.val_loss):
            break
    _check_finite_val(history.val_loss)
    model.load_state_dict(stopper.best_state)  # 最良のエポックの重みに戻す
    return history


def _check_finite_val(val_loss: list[float]) -> None:
    """検証損失が一度も有限にならなければ、分かるエラーにする
    (学習前の重みを黙って返さない)。
    """
    if val_loss and not any(math.isfinite(v) for v in val_loss):
        raise ValueError(
            "検証損失が一度も有限になりませんでした(NaN または inf)。"
            "学習データと学習率を確かめてください"
        )


def fit_with_dataloader(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, config: TrainConfig
) -> History:
    """DataLoader を使う教科書どおりのループ(比較・検証用)。"""
    _check_xy(X, y)
    loader = DataLoader(
        TensorDataset(X, y),
        batch_size=config.batch_size,
        shuffle=config.shuffle,
        drop_last=config.drop_last,
    )
    optimizer = make_optimizer(model, config)
    history = History()
    for _ in range(config.epochs):
        model.train()
        losses, sizes = [], []
        for xb, yb in loader:
            losses.append(train_step(model, optimizer, xb, yb))
            sizes.append(len(xb))
        history.log(
            epoch_mean(losses, torch.tensor(sizes, dtype=torch.float64))
        )
    return history


@dataclass
class TrainedRun:
    """1 つのモデルを 1 つのシードで学習し、予測した結果。"""

    model: nn.Module  # 学習済みのモデル(CPU・評価モード)
    history: History  # 損失の記録
    pred: dict[str, np.ndarray]  # 組 → 予測(evaluation.predict の形)
    seconds: float  # 学習にかかった秒数(予測は含まない)


def train_and_predict(
    make_model: Callable[[], nn.Module],
    X: dict[str, torch.Tensor],
    y: dict[str, torch.Tensor],
    seed: int,
    config: TrainConfig,
    *,
    patience: int | None = None,
    loss_fn: LossFn = nn.functional.mse_loss,
    predict_on: tuple[str, ...] = ("test",),
    device: torch.device | None = None,
) -> TrainedRun:
    """シード seed でモデルを作って組 "train" で学習し、各組を予測する。

    本書のモデルはどれもこの関数で学習する(回帰も分類も)。

    Parameters
    ----------
    make_model : 引数なしでモデルを作る関数(重みの初期値はシードで決まる)
    X, y : 組("train"・"val"・"test")→ 入力 (N, T, C) と正解 (N, out)
    seed : 重みの初期値とミニバッチの順番のシード
    config : 学習の設定
    patience : None なら config.epochs 回学習する(組 "val" があれば
        その損失を記録するだけ)。整数なら組 "val" の損失で早期終了し、
        最良の重みに戻す
    loss_fn : 損失。既定は MSE
    predict_on : 予測する組の名前
    device : 計算するデバイス(None なら configure_torch() の結果)

    Returns
    -------
    TrainedRun
        学習済みモデル・損失の記録・各組の予測・秒数。
    """
    device = configure_torch() if device is None else device
    X = {g: t.to(device) for g, t in X.items()}
    y = {g: t.to(device) for g, t in y.items()}
    set_seed(seed)  # 重みの初期値とミニバッチの順番
    model = make_model().to(device)
    start = time.perf_counter()
    if patience is None:  # 組 "val" があれば、その損失も毎エポック記録する
        val = (X["val"], y["val"]) if "val" in X else None
        history = fit(model, X["train"], y["train"], config, val, loss_fn)
    else:
        history = fit_early_stopping(
            model, X["train"], y["train"], config,
            val=(X["val"], y["val"]), patience=patience, loss_fn=loss_fn,
        )  # fmt: skip
    seconds = time.perf_counter() - start
    pred = {g: predict(model, X[g]) for g in predict_on}
    return TrainedRun(model.cpu().eval(), history, pred, seconds)
