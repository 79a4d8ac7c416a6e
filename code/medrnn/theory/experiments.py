"""各章の実験(データ準備 → 学習 → 評価)を一続きにまとめた関数。

章のコードセルは、ここにある関数を呼ぶだけで済むようにしてある。
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..core.data import (
    LSTM_SINE,
    RNN_SINE,
    SineConfig,
    make_noisy_sine,
    make_windows,
    split_ordered,
)
from ..core.evaluation import (
    LinearAR,
    mse,
    persistence_forecast,
    window_mean_forecast,
)
from ..core.models.nets import (
    LSTM_MODEL,
    RNN_MODEL,
    ModelConfig,
    RecurrentRegressor,
)
from ..core.repro import shifted
from ..core.training import (
    History,
    TrainConfig,
    train_and_predict,
)


@dataclass(frozen=True)
class Recipe:
    """1 つの実験の設定一式。"""

    sine: SineConfig  # データ
    model: ModelConfig  # モデル
    train: TrainConfig  # 学習
    seq_len: int = 10  # 窓の長さ
    train_ratio: float = 0.8  # 時間順に分けるときの訓練の割合


RNN_RECIPE = Recipe(
    RNN_SINE, RNN_MODEL, TrainConfig(epochs=200, batch_size=16)
)
LSTM_RECIPE = Recipe(
    LSTM_SINE, LSTM_MODEL, TrainConfig(epochs=50, batch_size=32)
)


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
        return self.t[self.n_train + self.X_test.shape[1] :]


def noisy_sine(sine: SineConfig) -> tuple[np.ndarray, np.ndarray]:
    """レシピのサイン波を作る(ノイズのシードは環境変数のずらし分を足す)。

    Parameters
    ----------
    sine : サイン波の設定(ノイズのシード sine.seed を含む)

    Returns
    -------
    t, series : 時刻と観測値。どちらも形状 (n_points,) の np.ndarray
    """
    return make_noisy_sine(replace(sine, seed=shifted(sine.seed)))


def prepare_data(recipe: Recipe) -> SineData:
    """サイン波を作り、時間順に分けてから、それぞれを窓に切る。

    Parameters
    ----------
    recipe : データ・窓の長さ・訓練の割合の設定

    Returns
    -------
    SineData
        訓練とテストの窓 (N, seq_len, 1) と正解 (N, 1)。
    """
    t, series = noisy_sine(recipe.sine)
    train, test = split_ordered(series, recipe.train_ratio)
    X_train, y_train = make_windows(train, recipe.seq_len)
    X_test, y_test = make_windows(test, recipe.seq_len)
    return SineData(t, series, len(train), X_train, y_train, X_test, y_test)


@dataclass
class RunResult:
    """学習 1 回分の結果。"""

    model: nn.Module  # 学習済みモデル(RecurrentRegressor、CPU・評価モード)
    history: History  # 損失の記録
    test_pred: np.ndarray  # テスト窓の予測。形状 (N_test,)
    test_mse: float  # テスト MSE
    seconds: float  # 学習にかかった秒数


def train_recipe(recipe: Recipe, data: SineData, seed: int) -> RunResult:
    """シードを固定してモデルを作り、学習し、テストデータで評価する。

    学習と予測は本書で共通の train_and_predict(早期終了なしで
    recipe.train.epochs エポック学習する)。
    """
    run = train_and_predict(
        partial(RecurrentRegressor, recipe.model),
        {"train": data.X_train, "test": data.X_test},
        {"train": data.y_train},
        seed,
        recipe.train,
    )
    pred = run.pred["test"]  # (N_test,)
    return RunResult(
        run.model,
        run.history,
        pred,
        mse(pred, data.y_test[:, 0].numpy()),
        run.seconds,
    )


def baseline_predictions(data: SineData) -> dict[str, np.ndarray]:
    """単純な予測法のテスト窓での予測(線形 AR は訓練窓だけで当てはめる)。

    Parameters
    ----------
    data : 訓練とテストの窓(:func:`prepare_data` の結果)

    Returns
    -------
    dict[str, np.ndarray]
        名前 → 予測。各形状 (N_test,)
    """
    ar = LinearAR.fit(data.X_train, data.y_train)
    return {
        "persistence": persistence_forecast(data.X_test),
        "window_mean": window_mean_forecast(data.X_test),
        "linear_ar": ar.predict(data.X_test),
    }


def baseline_mses(data: SineData) -> dict[str, float]:
    """:func:`baseline_predictions` の予測のテスト MSE。

    Parameters
    ----------
    data : :func:`baseline_predictions` と同じ

    Returns
    -------
    dict[str, float]
        名前 → テスト MSE。
    """
    target = data.y_test[:, 0].numpy()
    return {
        name: mse(pred, target)
        for name, pred in baseline_predictions(data).items()
    }


CHAPTER_MODELS = {"rnn": RNN_MODEL, "lstm": LSTM_MODEL}  # 各章のモデル


def compare_over_seeds(
    recipe: Recipe,
    seeds: list[int],
    models: dict[str, ModelConfig] | None = None,
    progress: bool = False,
) -> dict[str, list[float]]:
    """シードごとにノイズと初期値を変え、各モデルと基準法の
    テスト MSE を集める。

    シード s では、データのノイズと学習の乱数の両方を s にする。
    モデルだけを取り替え、学習の設定(recipe.train)は共通にする。

    Parameters
    ----------
    recipe : Recipe
        共通の設定。
    seeds : list[int]
        シードの並び。
    models : dict[str, ModelConfig] or None
        名前 → モデルの設定。None なら各章のモデル(RNN と LSTM)。
    progress : bool
        True なら進み具合を表示する。

    Returns
    -------
    dict[str, list[float]]
        モデル・基準法の名前 → シードの順のテスト MSE。
    """
    models = CHAPTER_MODELS if models is None else models
    results: dict[str, list[float]] = {}
    for seed in tqdm(seeds, desc="シード", disable=not progress):
        data = prepare_data(
            replace(recipe, sine=replace(recipe.sine, seed=seed))
        )
        for name, value in baseline_mses(data).items():
            results.setdefault(name, []).append(value)
        for name, model in models.items():
            run = train_recipe(replace(recipe, model=model), data, seed)
            results.setdefault(name, []).append(run.test_mse)
    return results


def epochs_to_within(losses: list[float], tolerance: float = 0.05) -> int:
    """損失が最小値の (1 + tolerance) 倍以内に初めて入ったエポック
    (1 始まり)。

    Parameters
    ----------
    losses : list[float]
        エポックごとの損失(空でない)。
    tolerance : float
        最小値からの許す割合(0 以上)。

    Returns
    -------
    int
        エポック(1 始まり)。

    Raises
    ------
    ValueError
        losses が空か、tolerance が負のとき。
    """
    if not losses:
        raise ValueError("損失の記録が空です")
    if tolerance < 0:
        raise ValueError(
            f"tolerance は 0 以上にしてください(受け取った値: {tolerance})"
        )
    target = min(losses) * (1 + tolerance)
    return next(i for i, v in enumerate(losses, start=1) if v <= target)


@dataclass
class ValidationStudy:
    """訓練部分を「学習用」と「検証用」に分けて学習曲線を調べた結果。"""

    history: History  # レシピどおりの全エポックの学習曲線(検証損失つき)
    epoch_within: int  # 検証損失が最良値の 5% 以内に入ったエポック
    seconds_within: float  # そこまでにかかった秒数
    early: History  # 早期終了で学習した記録
    test_mse_full: float  # 全エポック学習したモデルのテスト MSE
    test_mse_early: float  # 早期終了したモデルのテスト MSE
    n_val_windows: int  # 検証用の窓の数
    test_pred_full: np.ndarray = field(  # 全エポックのモデルの予測 (N_test,)
        default_factory=lambda: np.zeros(0)
    )
    test_pred_early: np.ndarray = field(  # 早期終了したモデルの予測 (N_test,)
        default_factory=lambda: np.zeros(0)
    )
    test_target: np.ndarray = field(  # テストの正解 (N_test,)
        default_factory=lambda: np.zeros(0)
    )


Windows = tuple[torch.Tensor, torch.Tensor]  # (入力 (N, T, 1), 正解 (N, 1))


def validation_windows(
    recipe: Recipe, val_ratio: float
) -> tuple[Windows, Windows, Windows]:
    """訓練部分を学習用と検証用(末尾 val_ratio)に分け、テストも窓に切る。

    Parameters
    ----------
    recipe : データと窓の設定(:func:`prepare_data` と同じデータを作る)
    val_ratio : 訓練部分の末尾から検証用に取る割合

    Returns
    -------
    fit, val, test : (X, y)
        学習用・検証用・テストの窓 (N, seq_len, 1) と正解 (N, 1)
    """
    _, series = noisy_sine(recipe.sine)
    train, test = split_ordered(series, recipe.train_ratio)
    fit_part, val_part = split_ordered(train, 1 - val_ratio)  # テストは見ない
    return (
        make_windows(fit_part, recipe.seq_len),
        make_windows(val_part, recipe.seq_len),
        make_windows(test, recipe.seq_len),
    )


def validation_study(
    recipe: Recipe,
    seed: int = 0,
    val_ratio: float = 0.2,
    patience: int = 20,
    tolerance: float = 0.05,
) -> ValidationStudy:
    """訓練部分の末尾 val_ratio を検証用にし、全エポック学習と
    早期終了を比べる。
    """
    groups = ("train", "val", "test")
    windows = dict(zip(groups, validation_windows(recipe, val_ratio)))
    X = {g: w[0] for g, w in windows.items()}
    y = {g: w[1] for g, w in windows.items()}
    make = partial(RecurrentRegressor, recipe.model)
    # 全エポック学習(検証損失は記録だけ)と、早期終了
    runs = [
        train_and_predict(make, X, y, seed, recipe.train, patience=p)
        for p in (None, patience)
    ]
    preds = [(r.history, r.pred["test"]) for r in runs]
    target = y["test"][:, 0].numpy()  # (N_test,)
    return study_result(preds, target, len(X["val"]), tolerance)


def study_result(
    runs: list[tuple[History, np.ndarray]],
    target: np.ndarray,
    n_val_windows: int,
    tolerance: float,
) -> ValidationStudy:
    """全エポック学習と早期終了の (学習の記録, テスト予測) を結果にまとめる。

    Parameters
    ----------
    runs : [(全エポックの記録, 予測), (早期終了の記録, 予測)]
        予測はテスト窓ごとで、形状 (N_test,)
    target : テストの正解。形状 (N_test,)
    n_val_windows : 検証用の窓の数
    tolerance : 検証損失が最良値の (1 + tolerance) 倍以内を「ほぼ最良」とする

    Returns
    -------
    ValidationStudy
        両方のテスト MSE と、ほぼ最良に達したエポックと秒数。
    """
    (full, pred_full), (early, pred_early) = runs
    epoch = epochs_to_within(full.val_loss, tolerance)
    return ValidationStudy(
        history=full,
        epoch_within=epoch,
        seconds_within=full.seconds[epoch - 1],
        early=early,
        test_mse_full=mse(pred_full, target),
        test_mse_early=mse(pred_early, target),
        n_val_windows=n_val_windows,
        test_pred_full=pred_full,
        test_pred_early=pred_early,
        test_target=target,
    )
