"""心電図の 2 つの課題: 波形の予測(回帰)と、形の違う拍の検出(2 値分類)。

どちらも記録を時間順に「訓練 → 検証 → テスト」の 3 区間に分け、
窓や拍が区間の境目をまたがないようにする(未来の情報の混入を防ぐ)。
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..core.checks import check_at_least_one
from ..core.data import (
    SEGMENTS,
    Standardizer,
    TimeSplit,
    downsample_mean,
    forecast_windows,
    windows_at,
)
from ..core.evaluation import (
    LinearAR,
    mean_std_text,
    persistence_forecast,
    rmse,
)
from ..core.models.nets import ModelConfig, RecurrentRegressor
from ..core.training import History, TrainConfig, train_and_predict
from .record import ECG_FS, BeatTable, extract_beats


@dataclass(frozen=True)
class WaveformConfig:
    """波形予測の設定。"""

    factor: int = 4  # 間引きの倍率(360 Hz → 90 Hz)
    seq_len: int = 36  # 入力窓の点数(90 Hz で 0.4 s)
    horizon: int = 4  # 何点先を予測するか(90 Hz で約 44 ms 先)
    train_stride: int = 2  # 訓練の窓をずらす幅(隣の窓はほぼ同じなので間引く)
    split: TimeSplit = TimeSplit()  # 時間順の 3 区間

    def __post_init__(self) -> None:
        names = ("factor", "seq_len", "horizon", "train_stride")
        check_at_least_one(self, names)

    @property
    def fs(self) -> float:
        """間引いた後のサンプリング周波数 [Hz]。"""
        return ECG_FS / self.factor

    @property
    def horizon_ms(self) -> float:
        """予測する先の時間 [ms]。"""
        return 1000.0 * self.horizon / self.fs


@dataclass(frozen=True)
class WaveformData:
    """区間ごとの窓(標準化済み)と、mV に戻すための情報。"""

    series: np.ndarray  # 間引いた心電図 [mV]。形状 (n,)
    fs: float  # series のサンプリング周波数 [Hz]
    bounds: dict[str, tuple[int, int]]  # 区間 → [start, stop)
    scaler: Standardizer  # 訓練区間だけで求めた平均と標準偏差
    X: dict[str, torch.Tensor]  # 区間 → 入力。形状 (N, seq_len, 1)
    y: dict[str, torch.Tensor]  # 区間 → 正解。形状 (N, 1)
    target_index: dict[str, np.ndarray]  # 区間 → 正解のサンプル番号 (N,)

    def to_mv(self, z: np.ndarray) -> np.ndarray:
        """標準化した値を電位 [mV] に戻す。

        Parameters
        ----------
        z : np.ndarray
            標準化した値(訓練区間の平均 0・標準偏差 1)。形状 (N,)

        Returns
        -------
        np.ndarray
            電位 [mV]。形状 (N,)
        """
        return self.scaler.inverse_transform(np.asarray(z)[:, None])[:, 0]

    def targets_mv(self, segment: str) -> np.ndarray:
        """区間の正解 [mV]。

        Parameters
        ----------
        segment : str
            区間の名前("train"・"val"・"test" のどれか)。

        Returns
        -------
        np.ndarray
            間引いた心電図の、その区間の正解の時刻の値 [mV]。形状 (N,)
        """
        return self.series[self.target_index[segment]]


def prepare_waveform(
    ecg_mv: np.ndarray, config: WaveformConfig = WaveformConfig()
) -> WaveformData:
    """心電図を間引き、時間順の 3 区間それぞれの中だけで窓を作る。

    Parameters
    ----------
    ecg_mv : np.ndarray
        360 Hz の心電図 [mV]。形状 (n,)
    config : WaveformConfig
        間引きの倍率・窓の長さ・何点先か・区間の分け方。
    """
    series = downsample_mean(ecg_mv, config.factor)
    bounds = config.split.bounds(len(series))
    scaler = Standardizer.fit(series[slice(*bounds["train"])][:, None])
    z = scaler.transform(series[:, None])[:, 0].astype(np.float32)
    X, y, index = {}, {}, {}
    for name in SEGMENTS:
        stride = config.train_stride if name == "train" else 1
        windows, index[name] = forecast_windows(
            z, config.seq_len, config.horizon, *bounds[name], stride
        )
        X[name] = torch.from_numpy(windows).unsqueeze(-1)  # (N, T, 1)
        y[name] = torch.from_numpy(z[index[name]]).unsqueeze(-1)  # (N, 1)
    return WaveformData(series, config.fs, bounds, scaler, X, y, index)


def forecast_baselines(data: WaveformData) -> dict[str, np.ndarray]:
    """テスト区間での単純な予測 [mV]: 訓練平均・持続予測・線形 AR。

    Parameters
    ----------
    data : WaveformData
        prepare_waveform の結果。AR は訓練区間の窓で当てはめる。

    Returns
    -------
    dict[str, np.ndarray]
        予測法の表示名 → テスト区間の予測 [mV]。形状 (N_test,)
    """
    X_test = data.X["test"]
    mean = np.full(len(X_test), data.scaler.mean[0])
    ar = LinearAR.fit(data.X["train"], data.y["train"])
    return {
        "訓練平均": mean,
        "持続予測": data.to_mv(persistence_forecast(X_test)),
        "線形 AR": data.to_mv(ar.predict(X_test)),
    }


@dataclass
class WaveformRun:
    """1 つのモデルを 1 つのシードで学習した結果。"""

    model: nn.Module
    history: History
    test_pred_mv: np.ndarray  # テスト区間の予測 [mV]。形状 (N,)
    test_rmse_mv: float  # テスト区間の RMSE [mV]
    seconds: float  # 学習にかかった秒数


def train_waveform_forecaster(
    model: ModelConfig,
    data: WaveformData,
    seed: int,
    train: TrainConfig,
    device: torch.device | None = None,
    patience: int = 3,
) -> WaveformRun:
    """再帰型モデルを学習し(検証損失で早期終了)、テスト区間で評価する。

    学習は本書共通の training.train_and_predict(device が None なら
    configure_torch() のデバイス)。予測を mV に戻して RMSE を測る。
    """
    run = train_and_predict(
        lambda: RecurrentRegressor(model),
        data.X, data.y, seed, train, patience=patience, device=device,
    )  # fmt: skip
    pred = data.to_mv(run.pred["test"])
    rmse_mv = rmse(pred, data.targets_mv("test"))
    return WaveformRun(run.model, run.history, pred, rmse_mv, run.seconds)


@dataclass(frozen=True)
class BeatTaskConfig:
    """拍の分類の設定。"""

    before_s: float = 0.25  # 波形入力: R 波の前 [s]
    after_s: float = 0.40  # 波形入力: R 波の後 [s]
    factor: int = 4  # 波形入力を間引く倍率(360 Hz → 90 Hz)
    n_rr: int = 8  # RR 入力: 直前の RR の数(これに次の RR を 1 つ足す)
    split: TimeSplit = TimeSplit()  # 時間順の 3 区間

    def __post_init__(self) -> None:
        if self.before_s < 0 or not self.after_s > 0:
            raise ValueError(
                f"before_s は 0 以上、after_s は正にしてください"
                f"(受け取った値: {self.before_s}, {self.after_s})"
            )
        if self.factor < 1 or self.n_rr < 1:
            raise ValueError(
                f"factor と n_rr は 1 以上にしてください"
                f"(受け取った値: {self.factor}, {self.n_rr})"
            )


def beat_spans(
    table: BeatTable, config: BeatTaskConfig, fs: float = ECG_FS
) -> np.ndarray:
    """各拍の入力が使う時間の範囲 [first, last](サンプル番号)。

    波形の切り出し区間と、RR 入力に使う拍(n_rr 個前の拍から次の拍まで)の
    両方を含む。前後の拍が足りない拍は -1 を入れる(どの区間にも入らない)。

    Parameters
    ----------
    table : BeatTable
        R 波の位置(peaks)を持つ拍の表。拍の数 n。
    config : BeatTaskConfig
        切り出す幅 before_s・after_s [s] と RR の数 n_rr を使う。
    fs : float
        peaks のサンプリング周波数 [Hz]。

    Returns
    -------
    np.ndarray
        各拍の最初と最後のサンプル番号(int64)。形状 (n, 2)
    """
    p, k = table.peaks, config.n_rr
    spans = np.full((len(p), 2), -1, dtype=np.int64)
    i = np.arange(k, len(p) - 1)  # n_rr 個前の拍と次の拍がある拍
    spans[i, 0] = np.minimum(p[i - k], p[i] - round(config.before_s * fs))
    spans[i, 1] = np.maximum(p[i + 1], p[i] + round(config.after_s * fs))
    return spans


def assign_beats(
    table: BeatTable,
    n_samples: int,
    config: BeatTaskConfig,
    fs: float = ECG_FS,
) -> dict[str, np.ndarray]:
    """ラベルを付けられる拍を、入力の範囲がまるごと収まる区間に割り当てる。

    Returns
    -------
    dict
        区間名 → 拍の番号(BeatTable の行)。境目をまたぐ拍はどこにも入らない。
    """
    spans = beat_spans(table, config, fs)
    index = {}
    for name, (start, stop) in config.split.bounds(n_samples).items():
        inside = (spans[:, 0] >= start) & (spans[:, 1] < stop)
        index[name] = np.flatnonzero(table.usable & inside)
    return index


def waveform_inputs(
    ecg_mv: np.ndarray,
    peaks: np.ndarray,
    config: BeatTaskConfig,
    fs: float = ECG_FS,
) -> np.ndarray:
    """拍の波形 [mV] を、各拍の中央値を引いて(基線合わせ)間引く。

    Parameters
    ----------
    ecg_mv : np.ndarray
        心電図 [mV]。形状 (n_samples,)
    peaks : np.ndarray
        切り出す拍の R 波のサンプル番号。形状 (n,)
    config : BeatTaskConfig
        R 波の前後の幅 [s] と、間引きの倍率 factor。
    fs : float
        ecg_mv のサンプリング周波数 [Hz]。

    Returns
    -------
    np.ndarray
        基線を合わせて間引いた拍の波形 [mV]。形状 (n, T)
    """
    beats = extract_beats(ecg_mv, peaks, fs, config.before_s, config.after_s)
    beats = beats - np.median(beats, axis=1, keepdims=True)
    n = beats.shape[1] // config.factor
    return (
        beats[:, : n * config.factor]
        .reshape(len(beats), n, config.factor)
        .mean(axis=2)
    )


def rr_inputs(
    table: BeatTable, index: np.ndarray, config: BeatTaskConfig
) -> np.ndarray:
    """直前 n_rr 個の RR と次の RR を時間順に並べた系列 [ms]。
    形状 (n, n_rr + 1)

    Parameters
    ----------
    table : BeatTable
        拍の表(rr_next_ms を使う)。
    index : np.ndarray
        拍の番号(assign_beats の 1 区間分)。形状 (n,)
    config : BeatTaskConfig
        n_rr(直前の RR の数)を使う。
    """
    rr = table.rr_next_ms[:-1]  # rr[j]: 拍 j から拍 j+1 までの間隔
    # 拍 i には rr[i] で終わる n_rr + 1 個の窓(直前の n_rr 個と次)を使う
    ends = np.asarray(index, dtype=np.int64)
    if len(ends) and (ends.min() < config.n_rr or ends.max() >= len(rr)):
        raise ValueError(
            "RR が足りない拍が含まれています"
            "(assign_beats の結果を渡してください)"
        )
    return windows_at(rr, ends, config.n_rr + 1)


@dataclass(frozen=True)
class BeatData:
    """拍の分類の入力(標準化済み)と正解。"""

    index: dict[str, np.ndarray]  # 区間 → 拍の番号(BeatTable の行)
    X: dict[str, dict[str, torch.Tensor]]  # 入力の種類 → 区間 → (N, T, 1)
    y: dict[str, torch.Tensor]  # 区間 → 正解(形が違う拍なら 1)。形状 (N, 1)


def _standardize_by_train(
    arrays: dict[str, np.ndarray],
) -> dict[str, torch.Tensor]:
    """訓練区間の全要素の平均と標準偏差で標準化し、
    (N, T, 1) のテンソルにする。
    """
    mean, std = arrays["train"].mean(), arrays["train"].std()
    return {
        name: torch.from_numpy(
            ((a - mean) / std).astype(np.float32)
        ).unsqueeze(-1)
        for name, a in arrays.items()
    }


def prepare_beats(
    ecg_mv: np.ndarray,
    table: BeatTable,
    config: BeatTaskConfig = BeatTaskConfig(),
) -> BeatData:
    """拍を区間に分け、波形入力と RR 入力、正解ラベルを作る。

    入力は種類ごとに、訓練区間の全要素の平均と標準偏差で標準化する。

    Parameters
    ----------
    ecg_mv : np.ndarray
        360 Hz の心電図 [mV]。形状 (n_samples,)
    table : BeatTable
        同じ記録の拍の表(R 波の位置・ラベル・RR)。
    config : BeatTaskConfig
        入力の作り方と、時間順の区間の分け方。

    Returns
    -------
    BeatData
        区間ごとの拍の番号、標準化した入力 (N, T, 1)、正解 (N, 1)。
    """
    index = assign_beats(table, len(ecg_mv), config)
    for name, rows in index.items():
        n_pos = int(table.abnormal[rows].sum())
        if n_pos in (0, len(rows)):
            raise ValueError(
                f"{name} 区間に正解が 1 種類しかありません"
                f"({len(rows)} 拍中 {n_pos} 拍が異常)"
            )
    waveform = {
        name: waveform_inputs(ecg_mv, table.peaks[rows], config)
        for name, rows in index.items()
    }
    rr = {name: rr_inputs(table, rows, config) for name, rows in index.items()}
    y = {
        name: torch.from_numpy(
            table.abnormal[rows].astype(np.float32)
        ).unsqueeze(-1)
        for name, rows in index.items()
    }
    return BeatData(
        index,
        {
            "waveform": _standardize_by_train(waveform),
            "rr": _standardize_by_train(rr),
        },
        y,
    )


class LinearClassifier(nn.Module):
    """系列を平らに並べて線形結合するだけの分類器(ロジスティック回帰)。

    Parameters
    ----------
    seq_len : int
        入力の系列の長さ(時刻の数)。
    input_size : int
        各時刻の特徴量の数。
    """

    def __init__(self, seq_len: int, input_size: int = 1) -> None:
        super().__init__()
        self.linear = nn.Linear(seq_len * input_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """系列を線形結合してロジットを返す。

        Parameters
        ----------
        x : torch.Tensor
            入力の系列。形状 (batch, seq_len, input_size)

        Returns
        -------
        torch.Tensor
            「異常らしさ」のロジット。形状 (batch, 1)
        """
        return self.linear(x.flatten(start_dim=1))


def make_classifier(
    kind: str, seq_len: int, hidden_size: int = 16
) -> nn.Module:
    """ "linear" ならロジスティック回帰、"rnn"・"lstm"・"gru" なら
    再帰型モデル。

    再帰型モデルは回帰と同じ RecurrentRegressor で、最後の時刻の出力を
    「異常らしさ」のロジット(シグモイドに通す前の値)として使う。

    Parameters
    ----------
    kind : str
        "linear"・"rnn"・"lstm"・"gru" のどれか。
    seq_len : int
        入力の系列の長さ(ロジスティック回帰の重みの数を決める)。
    hidden_size : int
        再帰型モデルの隠れ状態の次元(ロジスティック回帰では使わない)。

    Returns
    -------
    nn.Module
        入力 (batch, seq_len, 1) からロジット (batch, 1) を返すモデル。
    """
    if kind == "linear":
        return LinearClassifier(seq_len)
    return RecurrentRegressor(ModelConfig(kind=kind, hidden_size=hidden_size))


def weighted_bce(y: torch.Tensor) -> nn.BCEWithLogitsLoss:
    """少ない方の正解(異常)に (正常の数 / 異常の数) 倍の重みを付けた
    交差エントロピー。

    クラスの数の偏りを打ち消し、しきい値 0(確率 0.5)で両方を同じ重さで扱う。

    Parameters
    ----------
    y : torch.Tensor
        訓練区間の正解(0/1)。形状 (N, 1)

    Returns
    -------
    nn.BCEWithLogitsLoss
        pos_weight を y と同じデバイスに置いた損失関数。
    """
    n_pos = float(y.sum())
    if n_pos in (0.0, float(len(y))):
        raise ValueError("y に 0 と 1 の両方が必要です")
    return nn.BCEWithLogitsLoss(
        pos_weight=torch.tensor((len(y) - n_pos) / n_pos, device=y.device)
    )


@dataclass(frozen=True)
class BinaryMetrics:
    """2 値分類の混同行列と、そこから求める指標(陽性 = 形が違う拍)。"""

    tp: int  # 異常を異常と判定
    fn: int  # 異常を正常と判定(見逃し)
    fp: int  # 正常を異常と判定(誤警報)
    tn: int  # 正常を正常と判定

    @property
    def sensitivity(self) -> float:
        """感度 = TP / (TP + FN)。異常の拍のうち見つけられた割合。"""
        return self.tp / (self.tp + self.fn)

    @property
    def specificity(self) -> float:
        """特異度 = TN / (TN + FP)。正常の拍のうち正常と判定した割合。"""
        return self.tn / (self.tn + self.fp)

    @property
    def balanced_accuracy(self) -> float:
        """バランス正解率 = (感度 + 特異度) / 2。
        クラスの数の偏りに左右されない。
        """
        return (self.sensitivity + self.specificity) / 2

    def matrix(self) -> np.ndarray:
        """混同行列。行が正解(正常, 異常)、列が判定(正常, 異常)。

        Returns
        -------
        np.ndarray
            拍の数の 2 × 2 の表 [[TN, FP], [FN, TP]]。形状 (2, 2)
        """
        return np.array([[self.tn, self.fp], [self.fn, self.tp]])


def binary_metrics(pred: np.ndarray, target: np.ndarray) -> BinaryMetrics:
    """判定 pred と正解 target から 2 値分類の指標を作る。

    Parameters
    ----------
    pred, target : np.ndarray
        判定と正解(0/1 か bool、1 が異常)。形状 (n,)
    """
    p = np.asarray(pred).astype(bool).ravel()
    t = np.asarray(target).astype(bool).ravel()
    if p.shape != t.shape:
        raise ValueError(
            f"pred {p.shape} と target {t.shape} の形状が違います"
        )
    if t.all() or not t.any():
        raise ValueError(
            "target に正常と異常の両方が必要です(感度と特異度が定義できません)"
        )
    return BinaryMetrics(
        tp=int(np.sum(p & t)),
        fn=int(np.sum(~p & t)),
        fp=int(np.sum(p & ~t)),
        tn=int(np.sum(~p & ~t)),
    )


@dataclass
class BeatRun:
    """拍の分類器を 1 つのシードで学習した結果(テスト区間)。"""

    metrics: BinaryMetrics
    history: History
    seconds: float
    model: nn.Module  # 学習済みの分類器(CPU・評価モード)


def train_beat_classifier(
    kind: str,
    data: BeatData,
    inputs: str,
    seed: int,
    config: TrainConfig,
    hidden_size: int = 16,
    device: torch.device | None = None,
) -> BeatRun:
    """分類器を重み付き交差エントロピーで学習し、テスト区間の拍を判定する
    (ロジット > 0 で異常)。

    学習ループは回帰と同じ training.train_and_predict。途中では止めず
    (patience = エポック数)、検証損失が最小だったエポックの重みに戻す。
    """
    X = data.X[inputs]  # 区間 → (N, T, 1)
    run = train_and_predict(
        lambda: make_classifier(kind, X["train"].shape[1], hidden_size),
        X, data.y, seed, config, patience=config.epochs,
        loss_fn=weighted_bce(data.y["train"]), device=device,
    )  # fmt: skip
    metrics = binary_metrics(run.pred["test"] > 0, data.y["test"].numpy())
    return BeatRun(metrics, run.history, run.seconds, run.model)


BEAT_MODELS = {
    "linear": "ロジスティック回帰",
    "rnn": "RNN",
    "lstm": "LSTM",
    "gru": "GRU",
}  # 拍の分類で比べるモデル → 表示名
BEAT_INPUTS = {"waveform": "拍の波形", "rr": "RR 間隔の系列"}  # 入力 → 表示名


def compare_beat_classifiers(
    data: BeatData,
    seeds: list[int],
    config: TrainConfig,
    device: torch.device | None = None,
) -> dict[tuple[str, str], list[BeatRun]]:
    """入力 2 種類 × モデル 4 種類を、それぞれ複数のシードで学習・評価する。

    device には configure_torch() が返すデバイスを渡す(None なら CPU)。

    Parameters
    ----------
    data : BeatData
        prepare_beats の結果(入力は "waveform" と "rr")。
    seeds : list[int]
        乱数のシード。組み合わせごとにこの数だけ学習する。
    config : TrainConfig
        エポック数・学習率・バッチの大きさ。
    device : torch.device or None
        学習に使うデバイス。

    Returns
    -------
    dict[tuple[str, str], list[BeatRun]]
        (入力, モデル) → シードの順の結果。
    """
    if not seeds:
        raise ValueError("seeds が空です")
    return {
        (inputs, kind): [
            train_beat_classifier(
                kind, data, inputs, seed, config, device=device
            )
            for seed in seeds
        ]
        for inputs in BEAT_INPUTS
        for kind in BEAT_MODELS
    }


def beat_summary_rows(
    runs: dict[tuple[str, str], list[BeatRun]],
) -> list[dict[str, str]]:
    """表の行: 入力・モデルごとの感度・特異度・バランス正解率
    (平均 ± 標準偏差)。

    Parameters
    ----------
    runs : dict[tuple[str, str], list[BeatRun]]
        compare_beat_classifiers の結果。

    Returns
    -------
    list[dict[str, str]]
        組み合わせ 1 つが 1 行。列は入力・モデル・3 つの指標。
    """
    rows = []
    for (inputs, kind), group in runs.items():
        row = {"入力": BEAT_INPUTS[inputs], "モデル": BEAT_MODELS[kind]}
        for name, attr in (
            ("感度", "sensitivity"),
            ("特異度", "specificity"),
            ("バランス正解率", "balanced_accuracy"),
        ):
            values = [getattr(r.metrics, attr) for r in group]
            row[name] = mean_std_text(values, digits=3)
        rows.append(row)
    return rows


def forecast_summary_rows(
    baselines: dict[str, np.ndarray],
    runs: dict[str, WaveformRun],
    target_mv: np.ndarray,
) -> list[dict[str, str]]:
    """表の行: 予測法ごとのテスト RMSE [mV]・MSE [mV²]・学習時間 [s]。

    Parameters
    ----------
    baselines : dict[str, np.ndarray]
        forecast_baselines の結果(学習時間は「—」)。
    runs : dict[str, WaveformRun]
        表示名 → 再帰型モデルの結果(予測は test_pred_mv)。
    target_mv : np.ndarray
        テスト区間の正解 [mV]。形状 (N_test,)

    Returns
    -------
    list[dict[str, str]]
        予測法 1 つが 1 行(数値は文字列に整えてある)。
    """
    rows = []
    for name, pred in {
        **baselines,
        **{k: r.test_pred_mv for k, r in runs.items()},
    }.items():
        error = rmse(pred, target_mv)
        seconds = f"{runs[name].seconds:.1f}" if name in runs else "—"
        rows.append(
            {
                "予測法": name,
                "RMSE [mV]": f"{error:.3f}",
                "MSE [mV²]": f"{error**2:.4f}",
                "学習 [s]": seconds,
            }
        )
    return rows


def near_events(
    times_s: np.ndarray, event_times_s: np.ndarray, within_s: float
) -> np.ndarray:
    """各時刻から within_s 秒以内に出来事(拍など)があれば True。

    Parameters
    ----------
    times_s, event_times_s : np.ndarray
        調べる時刻と出来事の時刻 [s](出来事は順不同)。形状 (n,) と (m,)
    within_s : float
        近いとみなす距離 [s](0 以上)。

    Returns
    -------
    np.ndarray
        近くに出来事があるか(bool)。形状 (n,)
    """
    if within_s < 0:
        raise ValueError(
            f"within_s は 0 以上にしてください(受け取った値: {within_s})"
        )
    events = np.sort(np.asarray(event_times_s, dtype=np.float64))
    t = np.asarray(times_s, dtype=np.float64)
    if len(events) == 0:
        return np.zeros(len(t), dtype=bool)
    right = np.clip(np.searchsorted(events, t), 0, len(events) - 1)
    left = np.clip(right - 1, 0, len(events) - 1)  # 左右の近い出来事
    nearest = np.minimum(np.abs(t - events[left]), np.abs(t - events[right]))
    return nearest <= within_s
