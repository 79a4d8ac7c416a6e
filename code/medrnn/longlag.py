"""長期依存性の実験: 最初の時刻の「印」を、ノイズが続いたあとで答えさせる。

系列の長さは lag + 1。時刻 0 の値が +1 なら正解は 1、-1 なら 0。
時刻 1〜lag はノイズ N(0, noise_std²) だけで、答えの手がかりを含まない。
臨床でいえば「入院時のある出来事を、その後の雑多な測定値のあとで思い出す」形の課題。
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from .gradients import UpdateTrace, scale_recurrent_weights, sgd_update_norms
from .models.nets import ModelConfig, RecurrentRegressor
from .repro import configure_torch, set_seed, shifted

# 記憶を残すゲートの位置: LSTM は f(i, f, g, o の 2 番目)、GRU は z(r, z, n の 2 番目)
GATE_CHUNK = {"lstm": 1, "gru": 1}
TEST_SEED_OFFSET = 10_000  # テスト系列の乱数を訓練と分けるためのずらし


def _check_batch_args(lag: int, batch_size: int, noise_std: float) -> None:
    """系列を作る引数が使える値かを確かめる。"""
    if not isinstance(lag, int) or lag < 1:
        raise ValueError("lag は 1 以上の整数にしてください"
                         f"(受け取った値: {lag!r})")
    if batch_size < 1:
        raise ValueError("batch_size は 1 以上にしてください"
                         f"(受け取った値: {batch_size})")
    if not noise_std >= 0:
        raise ValueError("noise_std は 0 以上にしてください"
                         f"(受け取った値: {noise_std})")


def make_long_lag_batch(lag: int, batch_size: int, noise_std: float,
                        generator: torch.Generator,
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """印つきの系列を batch_size 本作る。

    Returns
    -------
    x : torch.Tensor
        入力。形状 (batch_size, lag + 1, 1)。x[:, 0] が印(±1)
    y : torch.Tensor
        正解(印が +1 なら 1.0、-1 なら 0.0)。形状 (batch_size, 1)
    """
    _check_batch_args(lag, batch_size, noise_std)
    y = torch.randint(0, 2, (batch_size, 1), generator=generator).float()
    x = noise_std * torch.randn(batch_size, lag + 1, 1, generator=generator)
    x[:, 0, 0] = 2 * y[:, 0] - 1  # 時刻 0 に印 ±1 を置く
    return x, y  # (B, lag+1, 1), (B, 1)


@dataclass(frozen=True)
class LagModel:
    """比べるモデル 1 つ。"""

    kind: str  # "rnn"・"lstm"・"gru"
    # 忘却ゲート(LSTM)/更新ゲート(GRU)のバイアスの初期値。None は PyTorch の既定
    gate_bias: float | None = None

    def __post_init__(self) -> None:
        if self.gate_bias is not None and self.kind not in GATE_CHUNK:
            raise ValueError("gate_bias は LSTM と GRU だけに使えます"
                             f"(受け取った種類: {self.kind!r})")


@dataclass(frozen=True)
class LagConfig:
    """学習と評価の設定(どのモデル・どの遅れにも共通)。"""

    noise_std: float = 0.5  # 印のあとに続くノイズの標準偏差
    hidden_size: int = 16  # 隠れ状態の次元
    steps: int = 200  # 更新の回数(毎回新しい系列を作る)
    batch_size: int = 32  # 1 回の更新に使う系列の数
    lr: float = 1e-2  # Adam の学習率
    n_test: int = 1000  # 正解率を測るテスト系列の数

    def __post_init__(self) -> None:
        for name in ("hidden_size", "steps", "batch_size", "n_test"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} は 1 以上にしてください"
                                 f"(受け取った値: {getattr(self, name)})")
        if not (self.noise_std >= 0 and self.lr > 0):
            raise ValueError("noise_std は 0 以上、lr は正にしてください"
                             f"(noise_std={self.noise_std}, lr={self.lr})")


def set_memory_gate_bias(model: nn.Module, kind: str, bias: float) -> None:
    """LSTM の忘却ゲート f / GRU の更新ゲート z のバイアスを bias にする(全層)。

    bias_ih 側を bias、bias_hh 側を 0 にするので、合計のバイアスが bias になる。
    bias が大きいほど、学習の初めから「前の状態を残す」向きになる。
    """
    if kind not in GATE_CHUNK:
        raise ValueError(f"kind は lstm か gru にしてください(受け取った値: {kind!r})")
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "bias_ih" in name or "bias_hh" in name:
                hidden = p.shape[0] // (4 if kind == "lstm" else 3)
                rows = slice(GATE_CHUNK[kind] * hidden,
                             (GATE_CHUNK[kind] + 1) * hidden)
                p[rows] = bias if "bias_ih" in name else 0.0


def build_lag_model(spec: LagModel, config: LagConfig) -> RecurrentRegressor:
    """再帰層 1 段 + 線形層のモデル(出力はロジット 1 つ)を作る。"""
    model = RecurrentRegressor(ModelConfig(kind=spec.kind,
                                           hidden_size=config.hidden_size))
    if spec.gate_bias is not None:
        set_memory_gate_bias(model, spec.kind, spec.gate_bias)
    return model


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """ロジットが正なら 1 と答えたとみなしたときの正解率。"""
    with torch.inference_mode():
        return ((model(x) > 0).float() == y).float().mean().item()


@dataclass
class LagRun:
    """学習 1 回分の結果。"""

    model: RecurrentRegressor  # 学習済みモデル
    losses: list[float]  # 更新ごとの訓練損失
    accuracy: float  # テスト系列での正解率
    seconds: float  # 学習と評価にかかった秒数


def train_long_lag(spec: LagModel, lag: int, seed: int,
                   config: LagConfig = LagConfig()) -> LagRun:
    """毎回新しい系列でミニバッチを作り、Adam で学習して正解率を測る。"""
    configure_torch()
    start = time.perf_counter()
    train_gen = torch.Generator().manual_seed(shifted(seed))
    test_gen = torch.Generator().manual_seed(shifted(seed) + TEST_SEED_OFFSET)
    x_test, y_test = make_long_lag_batch(lag, config.n_test, config.noise_std,
                                         test_gen)
    set_seed(seed)
    model = build_lag_model(spec, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    losses = []
    for _ in range(config.steps):
        x, y = make_long_lag_batch(lag, config.batch_size, config.noise_std,
                                   train_gen)
        loss = nn.functional.binary_cross_entropy_with_logits(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    acc = accuracy(model.eval(), x_test, y_test)
    return LagRun(model, losses, acc, time.perf_counter() - start)


@dataclass
class LagSweep:
    """遅れ × シードの正解率の表。"""

    lags: list[int]  # 試した遅れ
    seeds: list[int]  # 試したシード
    accuracy: dict[str, np.ndarray]  # モデル名 → 形状 (len(lags), len(seeds))
    models: dict[tuple[str, int], RecurrentRegressor]  # 最初のシードの学習済みモデル
    seconds: float  # 全体にかかった秒数


def lag_sweep(specs: dict[str, LagModel], lags: list[int], seeds: list[int],
              config: LagConfig = LagConfig(), progress: bool = False) -> LagSweep:
    """すべてのモデル・遅れ・シードの組み合わせで学習し、正解率を集める。"""
    if not specs or not lags or not seeds:
        raise ValueError("specs・lags・seeds はどれも 1 つ以上にしてください")
    start = time.perf_counter()
    table = {name: np.zeros((len(lags), len(seeds))) for name in specs}
    models = {}
    bar = tqdm(total=len(specs) * len(lags) * len(seeds), desc="学習",
               disable=not progress)
    for name, spec in specs.items():
        for i, lag in enumerate(lags):
            for j, seed in enumerate(seeds):
                run = train_long_lag(spec, lag, seed, config)
                table[name][i, j] = run.accuracy
                if j == 0:
                    models[(name, lag)] = run.model
                bar.update()
    bar.close()
    return LagSweep(list(lags), list(seeds), table, models,
                    time.perf_counter() - start)


def solved_counts(sweep: LagSweep, name: str,
                  threshold: float = 0.9) -> list[int]:
    """遅れごとに、正解率が threshold 以上だったシードの数。"""
    return [int(n) for n in (sweep.accuracy[name] >= threshold).sum(axis=1)]


def longest_reliable_lag(sweep: LagSweep, name: str,
                         threshold: float = 0.9) -> int | None:
    """最短の遅れから数えて、全シードが threshold 以上を保った最長の遅れ。

    最短の遅れですでに失敗したシードがあれば None。
    """
    longest = None
    for lag, count in zip(sweep.lags, solved_counts(sweep, name, threshold)):
        if count < len(sweep.seeds):
            break
        longest = lag
    return longest


def init_models(specs: dict[str, LagModel], seed: int,
                config: LagConfig = LagConfig()) -> dict[str, nn.Module]:
    """学習前のモデルを、どれも同じシードから作る。"""
    models = {}
    for name, spec in specs.items():
        set_seed(seed)
        models[name] = build_lag_model(spec, config)
    return models


@dataclass
class ClippingResult:
    """勾配クリッピングの実験結果。キーは "plain"(なし)と "clipped"(あり)。"""

    traces: dict[str, list[UpdateTrace]]  # シードごとの更新の記録
    models: dict[str, list[RecurrentRegressor]]  # シードごとの学習後のモデル
    x: torch.Tensor  # 学習に使った系列。形状 (batch_size, lag + 1, 1)
    y: torch.Tensor  # 正解。形状 (batch_size, 1)


def clipping_experiment(lag: int, seeds: list[int], lr: float = 0.3,
                        max_norm: float = 1.0, steps: int = 100,
                        scale: float = 5.0, batch_size: int = 256,
                        config: LagConfig = LagConfig()) -> ClippingResult:
    """W_hh を scale 倍した(勾配が爆発する)RNN を、同じ系列で SGD 学習する。

    シードごとに同じ初期値から、クリッピングなし("plain")と
    あり("clipped"、勾配ノルムの上限 max_norm)の 2 通りを学習して記録する。
    """
    x, y = make_long_lag_batch(lag, batch_size, config.noise_std,
                               torch.Generator().manual_seed(TEST_SEED_OFFSET))
    result = ClippingResult({"plain": [], "clipped": []},
                            {"plain": [], "clipped": []}, x, y)
    for seed in seeds:
        for name, limit in (("plain", None), ("clipped", max_norm)):
            set_seed(seed)
            model = build_lag_model(LagModel("rnn"), config)
            scale_recurrent_weights(model, scale)  # 再帰の重みを大きくする
            trace = sgd_update_norms(model, x, y, steps, lr, limit)
            result.traces[name].append(trace)
            result.models[name].append(model)
    return result


# GRU の章の長い遅れの実験の設定(章とコマンドライン `python -m medrnn gru` で共通)
CHAPTER_LAG_MODELS = {"RNN": LagModel("rnn"), "LSTM": LagModel("lstm"),
                      "GRU": LagModel("gru"), "LSTM(b_f=3)": LagModel("lstm", 3.0),
                      "GRU(b_z=3)": LagModel("gru", 3.0)}
CHAPTER_LAGS = (5, 15, 30, 60)  # 試す遅れ [ステップ]
CHAPTER_LAG_SEEDS = (0, 1, 2)  # シード
