"""各章の実験(データ準備 → 学習 → 評価)を一続きにまとめた関数。

章のコードセルは、ここにある関数を呼ぶだけで済むようにしてある。
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import torch
from tqdm.auto import tqdm

from .data import LSTM_SINE, RNN_SINE, SineConfig, make_noisy_sine, make_windows, split_ordered
from .evaluation import LinearAR, mse, persistence_forecast, predict, window_mean_forecast
from .models.nets import LSTM_MODEL, RNN_MODEL, ModelConfig, RecurrentRegressor
from .repro import configure_torch, set_seed
from .training import History, TrainConfig, fit


@dataclass(frozen=True)
class Recipe:
    """1 つの実験の設定一式。"""

    sine: SineConfig  # データ
    model: ModelConfig  # モデル
    train: TrainConfig  # 学習
    seq_len: int = 10  # 窓の長さ
    train_ratio: float = 0.8  # 時間順に分けるときの訓練の割合


RNN_RECIPE = Recipe(RNN_SINE, RNN_MODEL, TrainConfig(epochs=200, batch_size=16))
LSTM_RECIPE = Recipe(LSTM_SINE, LSTM_MODEL, TrainConfig(epochs=50, batch_size=32))


@dataclass(frozen=True)
class SineData:
    """分割と窓切り出しを終えたデータ。"""

    t: np.ndarray  # 時刻。形状 (n,)
    series: np.ndarray  # 観測値。形状 (n,)
    n_train: int  # 訓練部分の点数
    X_train: torch.Tensor  # (N_train, seq_len, 1)
    y_train: torch.Tensor  # (N_train, 1)
    X_test: torch.Tensor  # (N_test, seq_len, 1)
    y_test: torch.Tensor  # (N_test, 1)

    @property
    def t_test_targets(self) -> np.ndarray:
        """テストの正解が観測された時刻。形状 (N_test,)"""
        return self.t[self.n_train + self.X_test.shape[1]:]


def prepare_data(recipe: Recipe) -> SineData:
    """サイン波を作り、時間順に分けてから、それぞれを窓に切る。"""
    t, series = make_noisy_sine(recipe.sine)
    train, test = split_ordered(series, recipe.train_ratio)
    X_train, y_train = make_windows(train, recipe.seq_len)
    X_test, y_test = make_windows(test, recipe.seq_len)
    return SineData(t, series, len(train), X_train, y_train, X_test, y_test)


@dataclass
class RunResult:
    """学習 1 回分の結果。"""

    model: RecurrentRegressor  # 学習済みモデル
    history: History  # 損失の記録
    test_pred: np.ndarray  # テスト窓の予測。形状 (N_test,)
    test_mse: float  # テスト MSE
    seconds: float  # 学習にかかった秒数


def train_recipe(recipe: Recipe, data: SineData, seed: int) -> RunResult:
    """シードを固定してモデルを作り、学習し、テストデータで評価する。"""
    device = configure_torch()
    set_seed(seed)
    model = RecurrentRegressor(recipe.model).to(device)
    start = time.perf_counter()
    history = fit(model, data.X_train.to(device), data.y_train.to(device),
                  recipe.train)
    seconds = time.perf_counter() - start
    pred = predict(model, data.X_test.to(device))
    return RunResult(model.cpu(), history, pred,
                     mse(pred, data.y_test[:, 0].numpy()), seconds)


def baseline_mses(data: SineData) -> dict[str, float]:
    """単純な予測法のテスト MSE(線形 AR は訓練窓だけで当てはめる)。"""
    target = data.y_test[:, 0].numpy()
    ar = LinearAR.fit(data.X_train, data.y_train)
    return {
        "persistence": mse(persistence_forecast(data.X_test), target),
        "window_mean": mse(window_mean_forecast(data.X_test), target),
        "linear_ar": mse(ar.predict(data.X_test), target),
    }


CHAPTER_MODELS = {"rnn": RNN_MODEL, "lstm": LSTM_MODEL}  # 各章のモデル


def compare_over_seeds(recipe: Recipe, seeds: list[int],
                       models: dict[str, ModelConfig] | None = None,
                       progress: bool = False) -> dict[str, list[float]]:
    """シードごとにノイズと初期値を変え、各モデルと基準法のテスト MSE を集める。

    シード s では、データのノイズと学習の乱数の両方を s にする。
    モデルだけを取り替え、学習の設定(recipe.train)は共通にする。
    """
    models = CHAPTER_MODELS if models is None else models
    results: dict[str, list[float]] = {}
    for seed in tqdm(seeds, desc="シード", disable=not progress):
        data = prepare_data(replace(recipe, sine=replace(recipe.sine, seed=seed)))
        for name, value in baseline_mses(data).items():
            results.setdefault(name, []).append(value)
        for name, model in models.items():
            run = train_recipe(replace(recipe, model=model), data, seed)
            results.setdefault(name, []).append(run.test_mse)
    return results
