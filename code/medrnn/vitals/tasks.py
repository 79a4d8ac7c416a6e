"""複数のバイタルの章の実験: 心拍数の予測(単変量と多変量)と、
欠測の扱い方の比較。

1 人の参加者の 1 本の記録なので、時間順に「訓練 → 検証 → テスト」に分ける
(medrnn.core.data.TimeSplit)。窓は各区間の中だけで作り、標準化の平均と標準偏差は
訓練区間の観測値だけから求める。
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import torch

from ..core.checks import check_at_least_one
from ..core.data import SEGMENTS, TimeSplit, window_ends
from ..core.evaluation import LinearAR, mean_std_text
from ..core.models.nets import ModelConfig, RecurrentRegressor
from ..core.repro import shifted
from ..core.training import TrainConfig, train_and_predict
from .data import VitalSeries
from .missing import (
    STRATEGIES,
    block_mask,
    impute_windows,
    mcar_mask,
    spot_check_mask,
)

# 入力の組 → チャネル番号(書き換えられない対応表)
INPUT_SETS = MappingProxyType({"uni": (0,), "multi": (0, 1, 2)})
INPUT_NAMES = {"uni": "心拍数だけ", "multi": "心拍数 + 呼吸 + EDA"}
MODEL_NAMES = {
    "linear": "線形モデル",
    "rnn": "RNN",
    "lstm": "LSTM",
    "gru": "GRU",
}
# 線形モデルのわずかなリッジ正則化(多くの入力の係数を安定させる)
LINEAR_RIDGE = 1e-3


@dataclass(frozen=True)
class VitalsForecastConfig:
    """心拍数の予測の設定(格子は VitalSeries の step_s 秒刻み)。"""

    seq_len: int = 20  # 入力窓の点数(0.5 秒刻みで 10 秒)
    horizon: int = 2  # 何点先の心拍数を予測するか(0.5 秒刻みで 1 秒先)
    train_stride: int = 2  # 訓練の窓をずらす幅(隣の窓はほぼ同じなので間引く)
    split: TimeSplit = TimeSplit(train=0.7, val=0.1)  # 時間順の 3 区間
    hidden_size: int = 16  # 再帰層の隠れ状態の次元
    delta_cap_s: float = 30.0  # 経過時間の特徴量の頭打ち [s]

    def __post_init__(self) -> None:
        """設定の値が使えるかを確かめる(使えなければ ValueError)。"""
        names = ("seq_len", "horizon", "train_stride", "hidden_size")
        check_at_least_one(self, names)
        if not self.delta_cap_s > 0:
            raise ValueError("delta_cap_s は正にしてください")


@dataclass(frozen=True)
class MissingConfig:
    """入力に加える欠測の設定。"""

    pattern: str  # "mcar"(1 点ずつランダム)か "block"(連続した塊)
    rate: float  # 欠測の割合(チャネルごと)
    mean_block_s: float = 20.0  # 塊の平均の長さ [s](block のとき)

    def __post_init__(self) -> None:
        """設定の値が使えるかを確かめる(使えなければ ValueError)。"""
        if self.pattern not in ("mcar", "block"):
            raise ValueError(
                f"pattern は 'mcar' か 'block' にしてください"
                f"(受け取った値: {self.pattern!r})"
            )
        if not 0 <= self.rate < 1 or not self.mean_block_s > 0:
            raise ValueError(
                f"rate は 0 以上 1 未満、mean_block_s は正にしてください"
                f"(受け取った値: {self.rate}, {self.mean_block_s})"
            )

    def make_mask(
        self, shape: tuple[int, int], step_s: float, seed: int
    ) -> np.ndarray:
        """シード seed で欠測のマスク(True = 観測あり)を作る。

        実際のシードは repro.shifted(seed)(MEDRNN_SEED_OFFSET の分ずらす)。

        Parameters
        ----------
        shape : (int, int)
            (n_steps, n_channels)。
        step_s : float
            格子の間隔 [s](塊の長さを点の数に直すのに使う)。
        seed : int
            章の中のシード番号。

        Returns
        -------
        np.ndarray
            bool のマスク。形状 shape
        """
        rng = np.random.default_rng(shifted(seed))
        if self.pattern == "mcar":
            return mcar_mask(shape, self.rate, rng)
        return block_mask(shape, self.rate, self.mean_block_s / step_s, rng)


@dataclass(frozen=True)
class WindowData:
    """区間ごとの入力窓(標準化済み)と、心拍数の正解。"""

    X: dict[str, torch.Tensor]  # 区間 → 入力。形状 (N, seq_len, 特徴量の数)
    y: dict[str, torch.Tensor]  # 区間 → 標準化した正解。形状 (N, 1)
    ends: dict[str, np.ndarray]  # 区間 → 窓の最後の時刻の番号 (N,)
    hr_mean: float  # 心拍数の訓練平均 [bpm]
    hr_std: float  # 心拍数の訓練の標準偏差 [bpm]

    def to_bpm(self, z: np.ndarray) -> np.ndarray:
        """標準化した心拍数を bpm に戻す。

        Parameters
        ----------
        z : np.ndarray
            標準化した心拍数。任意の形状

        Returns
        -------
        np.ndarray
            心拍数 [bpm]。z と同じ形状
        """
        return np.asarray(z, dtype=np.float64) * self.hr_std + self.hr_mean

    def target_bpm(self, segment: str) -> np.ndarray:
        """区間の正解 [bpm]。形状 (N,)

        Parameters
        ----------
        segment : str
            区間の名前("train"・"val"・"test")。

        Returns
        -------
        np.ndarray
            形状 (N,)
        """
        return self.to_bpm(self.y[segment][:, 0].cpu().numpy())


def standardize_observed(
    values: np.ndarray, mask: np.ndarray, train_stop: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """訓練区間の観測値だけで平均と標準偏差を求め、系列全体を標準化する。

    Parameters
    ----------
    values, mask : 値と観測の印。形状 (n_steps, C)
    train_stop : 訓練区間の終わり(時刻の番号)

    Returns
    -------
    z, mean, std : 標準化した値 (n_steps, C)(欠測は NaN)と平均・標準偏差 (C,)
    """
    z = np.full(values.shape, np.nan)
    mean, std = np.empty(values.shape[1]), np.empty(values.shape[1])
    for c in range(values.shape[1]):
        seen = values[:train_stop, c][mask[:train_stop, c]]
        if len(seen) < 2:
            raise ValueError(f"チャネル {c} の訓練区間に観測が 2 つ未満です")
        mean[c], std[c] = seen.mean(), seen.std()
        z[:, c] = np.where(
            mask[:, c], (values[:, c] - mean[c]) / std[c], np.nan
        )
    return z, mean, std


def _as_tensor(a: np.ndarray, device: torch.device | str) -> torch.Tensor:
    """配列を float32 のテンソルにして device に置く。"""
    return torch.from_numpy(a.astype(np.float32)).to(device)


def known_window_ends(
    name: str,
    bounds: dict[str, tuple[int, int]],
    known: np.ndarray,
    config: VitalsForecastConfig,
) -> np.ndarray:
    """区間 name の窓の最後の時刻のうち、正解が分かる(known が True)もの。

    Parameters
    ----------
    name : str
        区間の名前("train"・"val"・"test")。
    bounds : dict[str, tuple[int, int]]
        区間の名前 → [start, stop)(時刻の番号)。
    known : np.ndarray
        時刻ごとに正解が分かるか(bool)。形状 (n,)
    config : VitalsForecastConfig
        窓の長さ・予測先・訓練の窓の間引き。

    Returns
    -------
    np.ndarray
        窓の最後の時刻の番号。形状 (N,)
    """
    stride = config.train_stride if name == "train" else 1
    e = window_ends(*bounds[name], config.seq_len, config.horizon, stride)
    if len(e) == 0:
        raise ValueError(f"区間 {name} {bounds[name]} では窓を作れません")
    return e[known[e + config.horizon]]  # 正解が分かる窓だけ


# fmt: off
def prepare_windows(series: VitalSeries, config: VitalsForecastConfig,
                    channels: tuple[int, ...] = (0, 1, 2),
                    mask: np.ndarray | None = None, strategy: str = "locf",
                    target_known: np.ndarray | None = None,
                    device: torch.device | str = "cpu") -> WindowData:
    """欠測(mask)を strategy で埋め、区間ごとに入力窓と少し先の心拍数を作る。

    正解が分からない窓(target_known が False。省略時は心拍数の mask)は
    学習にも評価にも使わない。正解は常に本当の値。窓と正解は device に置く。
    """
    values = series.values[:, list(channels)]
    mask = np.ones(values.shape, bool) if mask is None else mask[:, channels]
    known = mask[:, 0] if target_known is None else target_known
    bounds = config.split.bounds(len(series))
    z, mean, std = standardize_observed(values, mask, bounds["train"][1])
    X, y, ends = {}, {}, {}
    for name in SEGMENTS:
        e = ends[name] = known_window_ends(name, bounds, known, config)
        feats = impute_windows(strategy, z, mask, e, config.seq_len,
                               np.zeros(len(channels)),  # 0 = 訓練平均
                               series.step_s, config.delta_cap_s)
        X[name] = _as_tensor(feats, device)  # (N, seq_len, 特徴量の数)
        target = (values[e + config.horizon, 0] - mean[0]) / std[0]
        y[name] = _as_tensor(target[:, None], device)  # (N, 1)
    return WindowData(X, y, ends, float(mean[0]), float(std[0]))
# fmt: on


def rmse_bpm(
    data: WindowData, pred_z: np.ndarray, segment: str = "test"
) -> float:
    """区間 segment の RMSE [bpm]。pred_z は標準化した単位の予測。形状 (N,)

    Parameters
    ----------
    data : WindowData
        区間ごとの窓と正解。
    pred_z : np.ndarray
        標準化した単位の予測。形状 (N,)
    segment : str
        区間の名前。

    Returns
    -------
    float
        RMSE [bpm]。
    """
    error = data.to_bpm(pred_z) - data.target_bpm(segment)
    return float(np.sqrt(np.mean(error**2)))


def persistence_pred(data: WindowData, segment: str = "test") -> np.ndarray:
    """持続予測(窓の最後の心拍数をそのまま少し先の値とする)。形状 (N,)

    Parameters
    ----------
    data : WindowData
        区間ごとの窓(チャネル 0 が標準化した心拍数)。
    segment : str
        区間の名前。

    Returns
    -------
    np.ndarray
        標準化した単位の予測(float64)。形状 (N,)
    """
    return data.X[segment][:, -1, 0].double().cpu().numpy()


@dataclass
class FitResult:
    """1 つのモデルを 1 つのシードで学習した結果。"""

    test_rmse_bpm: float  # テスト区間の RMSE [bpm]
    test_pred_bpm: np.ndarray  # テスト区間の予測 [bpm]。形状 (N,)
    epochs: int  # 学習したエポック数
    seconds: float  # 学習にかかった秒数
    val_rmse_bpm: float = float("nan")  # 検証区間の RMSE [bpm](設定選び用)
    best_epoch: int = 0  # 検証損失が最小だったエポック(線形モデルは 0)


def train_model(
    kind: str,
    data: WindowData,
    seed: int,
    train: TrainConfig,
    hidden_size: int,
    patience: int,
    ridge: float = LINEAR_RIDGE,
) -> FitResult:
    """線形モデル("linear")か再帰型モデルを学習し、検証・テスト区間で
    評価する。

    再帰型モデルは training.train_and_predict で、data の窓と同じデバイスで
    学習する(検証区間で早期終了)。

    Parameters
    ----------
    kind : str
        "linear"・"rnn"・"lstm"・"gru" のどれか。
    data : WindowData
        区間ごとの窓と正解。
    seed : int
        初期値と並べ替えの乱数のシード。
    train : TrainConfig
        学習の設定。
    hidden_size, patience : int
        再帰層の隠れ状態の次元と、早期終了で待つエポック数。
    ridge : float
        線形モデルのリッジ正則化の強さ。

    Returns
    -------
    FitResult
        テスト・検証の RMSE [bpm]、予測、エポック数、秒数。
    """
    groups = ("test", "val")
    if kind == "linear":
        start = time.perf_counter()
        linear = LinearAR.fit(data.X["train"], data.y["train"], ridge=ridge)
        pred = {g: linear.predict(data.X[g]) for g in groups}
        epochs = best = 0
        seconds = time.perf_counter() - start
    else:
        config = ModelConfig(
            kind=kind,
            input_size=data.X["train"].shape[-1],
            hidden_size=hidden_size,
        )
        run = train_and_predict(
            lambda: RecurrentRegressor(config),
            data.X,
            data.y,
            seed,
            train,
            patience=patience,
            predict_on=groups,
            device=data.X["train"].device,
        )
        pred, seconds = run.pred, run.seconds
        epochs, best = len(run.history.val_loss), run.history.best_epoch
    return FitResult(
        rmse_bpm(data, pred["test"]),
        data.to_bpm(pred["test"]),
        epochs,
        seconds,
        rmse_bpm(data, pred["val"], "val"),
        best,
    )


@dataclass(frozen=True)
class Study:
    """モデルを学習して比べる実験の設定(比べる関数に共通)。"""

    forecast: VitalsForecastConfig  # 窓・予測先・区間・隠れ状態
    kinds: tuple[str, ...]  # モデル("linear"・"rnn"・"lstm"・"gru")
    seeds: tuple[int, ...]  # シードの並び
    train: TrainConfig  # 学習の設定
    patience: int  # 検証損失が改善しないまま待つエポック数(早期終了)
    device: torch.device | str = "cpu"  # 窓とモデルを置くデバイス

    def fit(self, kind: str, data: WindowData, seed: int) -> FitResult:
        """モデル kind を、この設定とシード seed で学習する(train_model)。

        Parameters
        ----------
        kind, data, seed : モデルの種類・区間ごとの窓・シード

        Returns
        -------
        FitResult
            テスト・検証の RMSE [bpm]、予測、エポック数、秒数。
        """
        return train_model(
            kind,
            data,
            seed,
            self.train,
            self.forecast.hidden_size,
            self.patience,
        )

    def windows(
        self,
        series: VitalSeries,
        channels: tuple[int, ...] = (0, 1, 2),
        **missing: Any,
    ) -> WindowData:
        """この設定の窓(prepare_windows。device に置く)。

        Parameters
        ----------
        series, channels : 系列と使うチャネル
        **missing : prepare_windows の mask・strategy・target_known

        Returns
        -------
        WindowData
            区間ごとの窓と正解。
        """
        return prepare_windows(
            series, self.forecast, channels, device=self.device, **missing
        )


def compare_vital_inputs(
    series: VitalSeries,
    study: Study,
    input_sets: Mapping[str, tuple[int, ...]] = INPUT_SETS,
) -> dict[tuple[str, str], list[FitResult]]:
    """欠測なしで、入力の組(心拍数だけ / 3 チャネル)× モデルを比べる。

    Parameters
    ----------
    series, study : VitalSeries, Study
        格子に並べた 3 チャネルの系列と、窓・モデル・シードなどの設定。
    input_sets : Mapping[str, tuple[int, ...]]
        入力の組の名前 → 使うチャネルの番号。

    Returns
    -------
    dict[tuple[str, str], list[FitResult]]
        (入力の組, モデル) → シードごとの結果(線形は乱数なしで 1 つ)。
    """
    results = {}
    for inputs, channels in input_sets.items():
        data = study.windows(series, channels)
        for kind in study.kinds:
            runs = study.seeds[:1] if kind == "linear" else study.seeds
            results[inputs, kind] = [study.fit(kind, data, s) for s in runs]
    return results


def _score_strategy(
    results: dict[Any, list[float]],
    key: tuple[Any, ...],
    data: WindowData,
    study: Study,
    seed: int,
) -> None:
    """1 つの埋め方の窓で study の各モデルをシード seed で学習し、
    テスト RMSE [bpm] を results の (*key, モデル) に足す。

    key の最後は埋め方の名前。LOCF の窓では持続予測も "persist" として測る。
    """
    if key[-1] == "locf":
        results.setdefault((*key, "persist"), []).append(
            rmse_bpm(data, persistence_pred(data))
        )
    for kind in study.kinds:
        results.setdefault((*key, kind), []).append(
            study.fit(kind, data, seed).test_rmse_bpm
        )


def missing_sweep(
    series: VitalSeries,
    study: Study,
    settings: tuple[MissingConfig, ...],
    strategies: tuple[str, ...],
) -> dict[tuple[MissingConfig, str, str], list[float]]:
    """欠測の設定 × 埋め方 × モデルの、シードごとのテスト RMSE [bpm]。

    シードごとに欠測のマスクを 1 つ作り、同じマスクをすべての埋め方で使う
    (比べるのは埋め方の違いだけ)。持続予測は "persist" として LOCF の窓で測る。

    Parameters
    ----------
    series, study : VitalSeries, Study
        格子に並べた 3 チャネルの系列と、窓・モデル・シードなどの設定。
    settings : tuple[MissingConfig, ...]
        欠測の設定の並び。
    strategies : tuple[str, ...]
        埋め方(STRATEGIES のキー)。

    Returns
    -------
    dict[tuple[MissingConfig, str, str], list[float]]
        (欠測の設定, 埋め方, モデル) → シードごとのテスト RMSE [bpm]。
    """
    results: dict[tuple[MissingConfig, str, str], list[float]] = {}
    for setting in settings:
        for seed in study.seeds:
            mask = setting.make_mask(series.values.shape, series.step_s, seed)
            for strategy in strategies:
                data = study.windows(series, mask=mask, strategy=strategy)
                _score_strategy(
                    results, (setting, strategy), data, study, seed
                )
    return results


def spot_check_sweep(
    series: VitalSeries,
    study: Study,
    mean_gap_s: float,
    strategies: tuple[str, ...],
) -> dict[tuple[str, str], list[float]]:
    """心拍数だけをランダムな時刻のスポット測定にしたときの、
    埋め方 × モデルの RMSE。

    呼吸と EDA は連続に測れているとする。正解は連続の心電図から求めた本当の
    心拍数で、すべての窓で分かっている(研究用の基準の機器があると想定)。

    Parameters
    ----------
    series, study, strategies : :func:`missing_sweep` と同じ
    mean_gap_s : float
        スポット測定の平均の間隔 [s](欠測の設定の代わり)。

    Returns
    -------
    dict[tuple[str, str], list[float]]
        (埋め方, モデル) → シードごとのテスト RMSE [bpm]。
    """
    results: dict[tuple[str, str], list[float]] = {}
    known = np.ones(len(series), dtype=bool)  # 正解はいつも分かる
    for seed in study.seeds:
        rng = np.random.default_rng(shifted(seed))  # 学習のシードと同じずらし
        mask = np.ones(series.values.shape, dtype=bool)
        mask[:, 0] = spot_check_mask(
            len(series), series.step_s, mean_gap_s, rng
        )
        for strategy in strategies:
            data = study.windows(
                series, mask=mask, strategy=strategy, target_known=known
            )
            _score_strategy(results, (strategy,), data, study, seed)
    return results


def validation_grid(
    series: VitalSeries,
    study: Study,
    candidates: Iterable[tuple[TrainConfig, int]],
) -> list[dict[str, str]]:
    """学習の設定の候補(TrainConfig, 我慢の回数)ごとの、検証区間の RMSE [bpm]。

    入力の組 × モデル × シードの検証 RMSE の平均で候補を比べる(設定選び用。
    テスト区間の値は行に入れない)。

    Parameters
    ----------
    series, study : VitalSeries, Study
        系列と実験の設定(train と patience は候補で置き換える)。
    candidates : Iterable[tuple[TrainConfig, int]]
        (学習の設定, patience) の候補。

    Returns
    -------
    list[dict[str, str]]
        候補ごとの表の行。
    """
    rows = []
    for train, patience in candidates:
        start = time.perf_counter()
        runs = compare_vital_inputs(
            series, replace(study, train=train, patience=patience)
        )
        cells = {
            key: float(np.mean([r.val_rmse_bpm for r in group]))
            for key, group in runs.items()
        }
        row = {
            "学習率": f"{train.lr:g}",
            "バッチ": str(train.batch_size),
            "最大エポック": str(train.epochs),
            "我慢": str(patience),
        }
        row.update(
            {
                f"{INPUT_NAMES[i]} {MODEL_NAMES[k]}": f"{v:.2f}"
                for (i, k), v in cells.items()
            }
        )
        row["平均"] = f"{np.mean(list(cells.values())):.3f}"
        row["学習 [s]"] = f"{time.perf_counter() - start:.1f}"
        rows.append(row)
    return rows


def input_rows(
    results: dict[tuple[str, str], list[FitResult]], persistence: float
) -> list[dict[str, str]]:
    """表の行: 入力の組・モデルごとのテスト RMSE [bpm](平均 ± 標準偏差)。

    Parameters
    ----------
    results : dict[tuple[str, str], list[FitResult]]
        :func:`compare_vital_inputs` の結果。
    persistence : float
        持続予測のテスト RMSE [bpm](先頭の行に出す)。

    Returns
    -------
    list[dict[str, str]]
        表の行。
    """
    rows = [
        {
            "入力": INPUT_NAMES["uni"],
            "モデル": "持続予測",
            "RMSE [bpm]": f"{persistence:.2f}",
            "学習 [s]": "—",
        }
    ]
    for (inputs, kind), runs in results.items():
        rows.append(
            {
                "入力": INPUT_NAMES[inputs],
                "モデル": MODEL_NAMES[kind],
                "RMSE [bpm]": mean_std_text(
                    [r.test_rmse_bpm for r in runs], 2
                ),
                "学習 [s]": f"{sum(r.seconds for r in runs):.1f}",
            }
        )
    return rows


def sweep_rows(
    results: dict[tuple[MissingConfig, str, str], list[float]], kind: str
) -> list[dict[str, str]]:
    """表の行: 欠測の設定ごとに、埋め方別のテスト RMSE [bpm](平均 ± 標準偏差)。

    モデル kind を学習していない欠測の設定は、行に入れない。

    Parameters
    ----------
    results : dict[tuple[MissingConfig, str, str], list[float]]
        :func:`missing_sweep` の結果。
    kind : str
        表に出すモデル。

    Returns
    -------
    list[dict[str, str]]
        欠測の設定ごとの行。
    """
    settings = list(dict.fromkeys(key[0] for key in results if key[2] == kind))
    strategies = list(dict.fromkeys(key[1] for key in results))
    rows = []
    for setting in settings:
        label = {"mcar": "ランダム", "block": "塊"}[setting.pattern]
        row = {"欠測": f"{label} {setting.rate:.0%}"}
        for strategy in strategies:
            values = results[setting, strategy, kind]
            row[STRATEGIES[strategy]] = mean_std_text(values, 2)
        rows.append(row)
    return rows


def spot_rows(
    results: dict[tuple[str, str], list[float]],
) -> list[dict[str, str]]:
    """表の行: スポット測定での、埋め方ごと・モデルごとのテスト RMSE [bpm]。

    Parameters
    ----------
    results : dict[tuple[str, str], list[float]]
        :func:`spot_check_sweep` の結果。

    Returns
    -------
    list[dict[str, str]]
        表の行。
    """
    kinds = list(dict.fromkeys(k for _, k in results if k != "persist"))
    rows = [
        {
            "埋め方": "持続予測(最後の測定値)",
            **{MODEL_NAMES[k]: "—" for k in kinds},
            "持続予測": mean_std_text(results["locf", "persist"], 2),
        }
    ]
    for strategy in dict.fromkeys(s for s, _ in results):
        row = {"埋め方": STRATEGIES[strategy]}
        for kind in kinds:
            row[MODEL_NAMES[kind]] = mean_std_text(results[strategy, kind], 2)
        rows.append({**row, "持続予測": "—"})
    return rows
