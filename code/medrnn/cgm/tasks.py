"""CGM の血糖値を 5〜60 分先まで予測する課題。

被験者(患者)を単位に訓練・検証・テストへ分け、同じ人が 2 つの組に
入らないようにする。窓は途切れのない区間の中だけで作る。誤差は mg/dL で測る。
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..core.checks import as_paired_1d, check_at_least_one
from ..core.data import window_ends, windows_at
from ..core.evaluation import errors, mean_std_text, predict
from ..core.models.nets import ModelConfig, RecurrentRegressor
from ..core.training import History, TrainConfig, train_and_predict
from .data import HYPO_MGDL, PERIOD_MIN, SubjectCGM, split_segments

GROUPS = ("train", "val", "test")  # 被験者の 3 つの組


@dataclass(frozen=True)
class PatientSplitConfig:
    """被験者を組に分ける設定(残りの全員が訓練)。"""

    n_val: int = 3  # 検証(早期終了)に使う人数
    n_test: int = 5  # テストに使う人数
    seed: int = 0  # 並べ替えの乱数のシード

    def __post_init__(self) -> None:
        """n_val と n_test が 1 以上かを確かめる(違えば ValueError)。"""
        if self.n_val < 1 or self.n_test < 1:
            raise ValueError(
                f"n_val と n_test は 1 以上にしてください"
                f"(受け取った値: {self.n_val}, {self.n_test})"
            )


def _check_patients(
    ids: list[str], diagnoses: list[str], config: PatientSplitConfig
) -> None:
    """ids が重複なく diagnoses と同じ長さで、訓練に人が残るかを確かめる。"""
    if len(ids) != len(diagnoses) or len(set(ids)) != len(ids):
        raise ValueError(
            "ids は重複なしで、diagnoses と同じ長さにしてください"
        )
    if config.n_val + config.n_test >= len(ids):
        raise ValueError(
            f"{len(ids)} 人では、検証 {config.n_val} 人と"
            f"テスト {config.n_test} 人を除くと訓練が残りません"
        )


def split_patients(
    ids: list[str], diagnoses: list[str], config: PatientSplitConfig
) -> dict[str, list[str]]:
    """診断の割合がそろうように、被験者を訓練・検証・テストに分ける。

    診断ごとに乱数で並べ、各人の「診断内での順位 / 診断の人数」の小さい順に
    並べ直す(診断が交互に現れる)。先頭からテスト・検証、残りを訓練にする。
    """
    _check_patients(ids, diagnoses, config)
    rng = np.random.default_rng(config.seed)
    keys = {}
    for diagnosis in sorted(set(diagnoses)):
        members = [i for i, d in zip(ids, diagnoses) if d == diagnosis]
        for rank, sid in enumerate(rng.permutation(members)):
            keys[str(sid)] = (rank / len(members), diagnosis)
    order = sorted(ids, key=keys.__getitem__)
    n_test, n_val = config.n_test, config.n_val
    return {
        "test": order[:n_test],
        "val": order[n_test : n_test + n_val],
        "train": order[n_test + n_val :],
    }


@dataclass(frozen=True)
class CGMForecastConfig:
    """予測の窓の設定(時間はすべて測定の回数。1 回 = 5 分)。"""

    seq_len: int = 12  # 入力の長さ(12 回 = 1 時間)
    n_ahead: int = 12  # 何回先まで予測するか(12 回 = 60 分)
    train_stride: int = 2  # 訓練の窓をずらす幅(隣の窓はほぼ同じなので間引く)
    tolerance_min: float = 1.0  # 間隔が 5 ± この値 [分] なら途切れなし

    def __post_init__(self) -> None:
        """設定の値が使えるかを確かめる(使えなければ ValueError)。"""
        check_at_least_one(self, ("seq_len", "n_ahead", "train_stride"))
        if not 0 <= self.tolerance_min < PERIOD_MIN:
            raise ValueError(
                f"tolerance_min は 0 以上 {PERIOD_MIN} 未満に"
                f"してください(受け取った値: {self.tolerance_min})"
            )

    @property
    def horizons_min(self) -> np.ndarray:
        """各出力が何分先か: 5, 10, ..., 60。形状 (n_ahead,)"""
        return PERIOD_MIN * np.arange(1, self.n_ahead + 1)


def segment_windows(
    glucose: np.ndarray, seq_len: int, n_ahead: int, stride: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """途切れのない 1 区間から、入力窓と続く n_ahead 回の正解を作る。

    本書の窓の関数(:func:`medrnn.core.data.window_ends` と
    :func:`medrnn.core.data.windows_at`)で作る。正解は、入力の最後の点の
    n_ahead 点先で終わる長さ n_ahead の窓。

    Parameters
    ----------
    glucose : 1 区間の血糖値 [mg/dL]。形状 (n,)
    seq_len, n_ahead, stride : 入力の長さ・予測する回数・窓のずらし幅

    Returns
    -------
    X, Y, ends : 入力 (N, seq_len)、正解 (N, n_ahead)、入力の最後の点の
        番号 (N,)。窓がなければ N = 0
    """
    g = np.asarray(glucose, dtype=np.float64)
    if g.ndim != 1:
        raise ValueError(f"glucose は 1 次元にしてください(形状: {g.shape})")
    ends = window_ends(0, len(g), seq_len, n_ahead, stride)
    Y = windows_at(g, ends + n_ahead, n_ahead)
    return windows_at(g, ends, seq_len), Y, ends


@dataclass
class WindowSet:
    """ある組の全員分の窓(mg/dL)と、各窓の出どころ。"""

    X: np.ndarray  # 入力 [mg/dL]。形状 (N, seq_len)
    Y: np.ndarray  # 正解 [mg/dL]。形状 (N, n_ahead)
    subject: np.ndarray  # 被験者の識別子。形状 (N,)
    segment: np.ndarray  # 区間の通し番号(被験者をまたいで一意)。形状 (N,)
    last_time: np.ndarray  # 入力の最後の測定時刻(datetime64)。形状 (N,)


def _check_any_windows(parts: Sequence[tuple[np.ndarray, ...]]) -> None:
    """区間ごとの (X, ...) の並び parts に窓が 1 つ以上あるかを確かめる。"""
    if not parts or sum(len(p[0]) for p in parts) == 0:
        raise ValueError(
            "窓を 1 つも作れません(区間が seq_len + n_ahead より短い)"
        )


def subject_windows(
    subjects: list[SubjectCGM], config: CGMForecastConfig, stride: int
) -> WindowSet:
    """各被験者の記録を途切れで区間に分け、区間ごとに窓を作ってつなげる。"""
    parts, n_segments = [], 0
    for s in subjects:
        for start, stop in split_segments(
            s.minutes, tolerance=config.tolerance_min
        ):
            X, Y, ends = segment_windows(
                s.glucose[start:stop], config.seq_len, config.n_ahead, stride
            )
            subject = np.full(len(X), s.subject_id)
            segment = np.full(len(X), n_segments)
            parts.append((X, Y, subject, segment, s.times[start + ends]))
            n_segments += 1
    _check_any_windows(parts)
    return WindowSet(*(np.concatenate(cols) for cols in zip(*parts)))


@dataclass
class CGMData:
    """組ごとの窓と、標準化の平均・標準偏差(訓練の組だけから求める)。"""

    groups: dict[str, list[str]]  # 組 → 被験者の識別子
    windows: dict[str, WindowSet]  # 組 → 窓 [mg/dL]
    mean: float  # 訓練の組の血糖値の平均 [mg/dL]
    std: float  # 訓練の組の血糖値の標準偏差 [mg/dL]

    def _standardized(self, values: np.ndarray) -> torch.Tensor:
        """mg/dL の値を標準化した float32 のテンソル(形状はそのまま)。"""
        z = (values - self.mean) / self.std
        return torch.from_numpy(z.astype(np.float32))

    def inputs(self, group: str) -> torch.Tensor:
        """標準化した入力窓。

        Parameters
        ----------
        group : str
            組の名前("train"・"val"・"test")。

        Returns
        -------
        torch.Tensor, 形状 (N, seq_len, 1)
            float32。
        """
        return self._standardized(self.windows[group].X).unsqueeze(-1)

    def targets(self, group: str) -> torch.Tensor:
        """標準化した正解: :meth:`inputs` の各窓に続く n_ahead 回の値。

        Parameters
        ----------
        group : str
            組の名前(:meth:`inputs` と同じ)。

        Returns
        -------
        torch.Tensor, 形状 (N, n_ahead)
            float32。
        """
        return self._standardized(self.windows[group].Y)

    def to_mgdl(self, z: np.ndarray) -> np.ndarray:
        """標準化した値を mg/dL に戻す。

        Parameters
        ----------
        z : np.ndarray
            標準化した値。任意の形状

        Returns
        -------
        np.ndarray
            血糖値 [mg/dL]。z と同じ形状
        """
        return np.asarray(z, dtype=np.float64) * self.std + self.mean


def prepare_cgm(
    subjects: list[SubjectCGM],
    split: PatientSplitConfig,
    config: CGMForecastConfig,
) -> CGMData:
    """被験者を組に分け、組ごとに窓を作り、訓練の組で標準化の値を決める。

    Parameters
    ----------
    subjects : list[SubjectCGM]
        全員の記録。
    split : PatientSplitConfig
        検証・テストの人数とシード。
    config : CGMForecastConfig
        窓の長さと予測する先。

    Returns
    -------
    CGMData
        組ごとの窓(訓練だけ train_stride で間引く)と標準化の値。
    """
    groups = split_patients(
        [s.subject_id for s in subjects],
        [s.diagnosis for s in subjects],
        split,
    )
    by_id = {s.subject_id: s for s in subjects}
    windows = {
        name: subject_windows(
            [by_id[sid] for sid in groups[name]],
            config,
            stride=config.train_stride if name == "train" else 1,
        )
        for name in GROUPS
    }
    train_values = np.concatenate(
        [by_id[sid].glucose for sid in groups["train"]]
    )
    return CGMData(
        groups, windows, float(train_values.mean()), float(train_values.std())
    )


def persistence(X: np.ndarray, n_ahead: int) -> np.ndarray:
    """「この先もずっと最後の値のまま」という予測 [mg/dL]。形状 (N, n_ahead)

    Parameters
    ----------
    X : np.ndarray
        入力窓 [mg/dL]。形状 (N, seq_len)
    n_ahead : int
        予測する回数。

    Returns
    -------
    np.ndarray
        予測 [mg/dL]。形状 (N, n_ahead)
    """
    return np.repeat(np.asarray(X)[:, -1:], n_ahead, axis=1)


def trend_extrapolation(
    X: np.ndarray, n_ahead: int, n_recent: int = 7
) -> np.ndarray:
    """最後の n_recent 回(7 回 = 30 分)に直線を当てはめ、そのまま延ばす予測。

    Returns
    -------
    np.ndarray
        予測 [mg/dL]。形状 (N, n_ahead)
    """
    X = np.asarray(X, dtype=np.float64)
    if not 2 <= n_recent <= X.shape[1]:
        raise ValueError(
            f"n_recent は 2 以上 {X.shape[1]} 以下にしてください"
            f"(受け取った値: {n_recent})"
        )
    k = np.arange(n_recent) - (n_recent - 1) / 2  # 中心を 0 にした時刻
    recent = X[:, -n_recent:]  # (N, n_recent)
    slope = (recent - recent.mean(axis=1, keepdims=True)) @ k / (k @ k)
    level = recent.mean(axis=1) + slope * k[-1]  # 直線の、最後の時刻での値
    steps = np.arange(1, n_ahead + 1)  # 1, 2, ..., n_ahead 回先
    return level[:, None] + slope[:, None] * steps[None, :]


def _with_intercept(X: np.ndarray) -> np.ndarray:
    """入力窓の右に切片の列(すべて 1)を足す。形状 (N, seq_len + 1)"""
    return np.column_stack([X, np.ones(len(X))])


def linear_ar_forecast(data: CGMData, group: str = "test") -> np.ndarray:
    """先の時刻ごとの線形 AR(同じ入力窓の一次結合 + 切片)で予測 [mg/dL]。

    n_ahead 個の最小二乗問題(正解の列ごとに 1 つ)を、1 回の
    ``np.linalg.lstsq`` でまとめて解く。係数は訓練の組の窓だけで求める。

    Parameters
    ----------
    data : CGMData
        組ごとの窓。
    group : str
        予測する組。

    Returns
    -------
    np.ndarray
        予測。形状 (N, n_ahead)
    """
    train = data.windows["train"]
    A = _with_intercept(train.X)  # (N_train, seq_len + 1)
    coef, *_ = np.linalg.lstsq(A, train.Y, rcond=None)  # (T + 1, n_ahead)
    return _with_intercept(data.windows[group].X) @ coef  # (N, n_ahead)


def baseline_forecasts(
    data: CGMData, group: str = "test", n_recent: int = 7
) -> dict[str, np.ndarray]:
    """比べる単純な方法の予測 [mg/dL]。どれも形状 (N, n_ahead)

    Parameters
    ----------
    data, group
        :func:`linear_ar_forecast` と同じ(組ごとの窓と、予測する組)。
    n_recent : int
        直線の外挿で直線を当てはめる回数。

    Returns
    -------
    dict[str, np.ndarray]
        方法の名前 → 予測 [mg/dL]。どれも形状 (N, n_ahead)
    """
    X, n_ahead = data.windows[group].X, data.windows[group].Y.shape[1]
    return {
        "持続予測": persistence(X, n_ahead),
        "直線の外挿": trend_extrapolation(X, n_ahead, n_recent),
        "線形 AR": linear_ar_forecast(data, group),
    }


@dataclass
class CGMRun:
    """1 つのモデルを 1 つのシードで学習した結果。"""

    model: nn.Module
    history: History
    test_pred: np.ndarray  # テストの組の予測 [mg/dL]。形状 (N, n_ahead)
    seconds: float  # 学習にかかった秒数


def train_cgm_forecaster(
    kind: str,
    data: CGMData,
    seed: int,
    train: TrainConfig,
    hidden_size: int = 32,
    patience: int = 3,
) -> CGMRun:
    """1〜n_ahead 回先をまとめて出す再帰型モデルを学習する(検証で早期終了)。

    学習と予測は train_and_predict。ここでは予測を mg/dL に戻すだけ。
    """
    n_ahead = data.windows["train"].Y.shape[1]
    net = ModelConfig(kind=kind, hidden_size=hidden_size, output_size=n_ahead)
    run = train_and_predict(
        lambda: RecurrentRegressor(net),
        {g: data.inputs(g) for g in GROUPS},
        {g: data.targets(g) for g in ("train", "val")},
        seed,
        train,
        patience=patience,
    )
    z = run.pred["test"].reshape(-1, n_ahead)  # n_ahead = 1 でも (N, 1)
    return CGMRun(run.model, run.history, data.to_mgdl(z), run.seconds)


def forecast_mgdl(model: nn.Module, data: CGMData, group: str) -> np.ndarray:
    """組 group の窓の予測を mg/dL に戻して返す。

    Parameters
    ----------
    model : 学習したモデル(置かれたデバイスで計算する)
    data : 窓と標準化の値
    group : "train"・"val"・"test" のどれか

    Returns
    -------
    np.ndarray
        予測 [mg/dL]。形状 (N, n_ahead)
    """
    X = data.inputs(group).to(next(model.parameters()).device)
    return data.to_mgdl(predict(model, X).reshape(len(X), -1))


def errors_by_horizon(
    pred: np.ndarray, target: np.ndarray
) -> dict[str, np.ndarray]:
    """先の時刻ごとの RMSE と MAE(単位は入力と同じ)。各形状 (n_ahead,)

    Parameters
    ----------
    pred, target : np.ndarray
        予測と正解 [mg/dL]。形状 (N, n_ahead)

    Returns
    -------
    dict[str, np.ndarray]
        "rmse" と "mae"。各形状 (n_ahead,)
    """
    error = errors(pred, target)  # 同じ形状で空でないかも確かめる
    if error.ndim != 2:
        raise ValueError(
            "pred と target は形状 (N, n_ahead) にしてください"
            f"(受け取った形状: {error.shape})"
        )
    return {
        "rmse": np.sqrt(np.mean(error**2, axis=0)),
        "mae": np.mean(np.abs(error), axis=0),
    }


def _runs(flags: np.ndarray, segment: np.ndarray) -> list[tuple[int, int]]:
    """同じ区間の中で True が続く範囲 [start, stop) の並び。"""
    edges = np.diff(np.concatenate([[False], flags, [False]]).astype(int))
    new_segment = np.concatenate([[False], segment[1:] != segment[:-1]])
    runs: list[tuple[int, int]] = []
    for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        cuts = [a, *(np.flatnonzero(new_segment[a + 1 : b]) + a + 1), b]
        runs.extend(zip(cuts[:-1], cuts[1:]))  # 区間の境目でも切る
    return [(int(a), int(b)) for a, b in runs]


@dataclass(frozen=True)
class AlertResult:
    """低血糖の警報(予測 < しきい値)を、実際の値と比べた結果。"""

    n_hours: float  # 評価した時間の長さ [時間]
    n_low: int  # 実際に低血糖だった時点の数(5 分ごと)
    n_low_alerted: int  # そのうち予測も低血糖だった数
    n_events: int  # 実際の低血糖のエピソード(続いた時点をまとめたもの)
    n_events_alerted: int  # そのうち 1 回でも警報が出たエピソード
    n_alerts: int  # 警報の回数(続いた警報は 1 回と数える)
    n_false_alerts: int  # 実際の低血糖を 1 つも含まない警報の回数

    @property
    def sensitivity(self) -> float:
        """時点ごとの感度: 低血糖の時点のうち警報が出ていた割合。"""
        return self.n_low_alerted / self.n_low if self.n_low else float("nan")

    @property
    def false_alerts_per_day(self) -> float:
        """誤警報の回数(1 日あたり)。"""
        return self.n_false_alerts / (self.n_hours / 24)


def _check_alert_arrays(
    pred: np.ndarray, actual: np.ndarray, segment: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """3 つを 1 次元にし、同じ長さで空でないかを確かめて返す。"""
    p, a, seg = (np.asarray(v).ravel() for v in (pred, actual, segment))
    if not len(p) == len(a) == len(seg) > 0:
        raise ValueError(
            f"pred・actual・segment は同じ長さの空でない配列に"
            f"してください(受け取った長さ: {len(p)}, {len(a)}, "
            f"{len(seg)})"
        )
    return p, a, seg


def hypo_alerts(
    pred: np.ndarray,
    actual: np.ndarray,
    segment: np.ndarray,
    threshold: float = HYPO_MGDL,
    alert_below: float | None = None,
) -> AlertResult:
    """ある先の時刻の予測と実際の値 [mg/dL](形状 (N,)、時刻順)で警報を評価。

    実際の値 < threshold を低血糖、予測 < alert_below(None なら threshold)
    を警報とする。segment が同じで隣り合う窓は 5 分ずつ続くとみなす(stride 1)。
    """
    p, a, seg = _check_alert_arrays(pred, actual, segment)
    alert = p < (threshold if alert_below is None else alert_below)
    low = a < threshold
    alerts, events = _runs(alert, seg), _runs(low, seg)
    return AlertResult(
        n_hours=len(p) * PERIOD_MIN / 60,
        n_low=int(low.sum()),
        n_low_alerted=int((low & alert).sum()),
        n_events=len(events),
        n_events_alerted=sum(bool(alert[i:j].any()) for i, j in events),
        n_alerts=len(alerts),
        n_false_alerts=sum(not low[i:j].any() for i, j in alerts),
    )


def clarke_zones(reference: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Clarke のエラーグリッドの領域 "A"〜"E"(値は mg/dL)。形状 (n,)

    Clarke et al. (1987) の境界線を、広く使われている次の順に判定する:
    A → E → C → D、どれにも入らなければ B。
    """
    r, p = as_paired_1d(
        reference,
        predicted,
        "reference と predicted は同じ長さの 1 次元配列にしてください",
    )
    zone_a = ((r <= 70) & (p <= 70)) | (np.abs(p - r) <= 0.2 * r)
    zone_e = ((r >= 180) & (p <= 70)) | ((r <= 70) & (p >= 180))
    zone_c = ((r >= 70) & (r <= 290) & (p >= r + 110)) | (
        (r >= 130) & (r <= 180) & (p <= 7 / 5 * r - 182)
    )
    zone_d = (
        ((r >= 240) & (p >= 70) & (p <= 180))
        | ((r <= 175 / 3) & (p >= 70) & (p <= 180))
        | ((r >= 175 / 3) & (r <= 70) & (p >= 6 / 5 * r))
    )
    return np.select(
        [zone_a, zone_e, zone_c, zone_d], ["A", "E", "C", "D"], default="B"
    )


def zone_percentages(zones: np.ndarray) -> dict[str, float]:
    """領域 A〜E に入った点の割合 [%]。

    Parameters
    ----------
    zones : np.ndarray
        :func:`clarke_zones` の領域。形状 (n,)

    Returns
    -------
    dict[str, float]
        "A"〜"E" → 割合 [%]。

    Raises
    ------
    ValueError
        zones が空のとき。
    """
    z = np.asarray(zones)
    if z.size == 0:
        raise ValueError("zones が空です")
    return {name: 100 * float(np.mean(z == name)) for name in "ABCDE"}


MODEL_NAMES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}  # 種類 → 表示名


def compare_models(
    data: CGMData,
    seeds: list[int],
    train: TrainConfig,
    hidden_size: int = 32,
    progress: bool = False,
) -> dict[str, list[CGMRun]]:
    """RNN・LSTM・GRU を、それぞれ複数のシードで学習する。

    Parameters
    ----------
    data : CGMData
        組ごとの窓。
    seeds : list[int]
        シードの並び。
    train : TrainConfig
        学習の設定。
    hidden_size : int
        隠れ状態の次元。
    progress : bool
        True なら 1 回の学習ごとに進み具合を表示する。

    Returns
    -------
    dict[str, list[CGMRun]]
        モデルの名前 → シードごとの結果。
    """
    if not seeds:
        raise ValueError("seeds が空です")
    jobs = [(kind, seed) for kind in MODEL_NAMES for seed in seeds]
    runs: dict[str, list[CGMRun]] = {name: [] for name in MODEL_NAMES.values()}
    for kind, seed in tqdm(jobs, disable=not progress, desc="学習"):
        runs[MODEL_NAMES[kind]].append(
            train_cgm_forecaster(kind, data, seed, train, hidden_size)
        )
    return runs


def _errors_by_method(
    baselines: dict[str, np.ndarray],
    runs: dict[str, list[CGMRun]],
    target: np.ndarray,
) -> dict[str, list[dict[str, np.ndarray]]]:
    """方法 → 学習ごとの :func:`errors_by_horizon`(基準法は 1 つだけ)。"""
    preds = {k: [v] for k, v in baselines.items()}
    preds |= {k: [r.test_pred for r in g] for k, g in runs.items()}
    return {
        name: [errors_by_horizon(p, target) for p in group]
        for name, group in preds.items()
    }


def summary_rows(
    baselines: dict[str, np.ndarray],
    runs: dict[str, list[CGMRun]],
    target: np.ndarray,
    steps: tuple[int, ...] = (6, 12),
) -> list[dict[str, str]]:
    """表の行: 方法ごとの 30 分先・60 分先の RMSE と MAE [mg/dL]。

    モデルはシードの平均(2 つ以上なら ± 標準偏差)。

    Parameters
    ----------
    baselines : dict[str, np.ndarray]
        方法の名前 → 予測 [mg/dL]。形状 (N, n_ahead)
    runs : dict[str, list[CGMRun]]
        モデルの名前 → シードごとの結果。
    target : np.ndarray
        正解 [mg/dL]。形状 (N, n_ahead)
    steps : tuple[int, ...]
        表に出す先の時刻(測定の回数。6 回 = 30 分)。

    Returns
    -------
    list[dict[str, str]]
        方法ごとの行。
    """
    rows = []
    for name, per_run in _errors_by_method(baselines, runs, target).items():
        row = {"方法": name}
        for step in steps:
            for metric in ("rmse", "mae"):
                values = [e[metric][step - 1] for e in per_run]
                text = mean_std_text(values, digits=1)
                row[f"{metric.upper()} {step * PERIOD_MIN:.0f} 分"] = text
        rows.append(row)
    return rows


def rmse_by_horizon(
    baselines: dict[str, np.ndarray],
    runs: dict[str, list[CGMRun]],
    target: np.ndarray,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """方法ごとの、先の時刻ごとの RMSE [mg/dL](モデルはシードの平均)と
    シード間の標準偏差(シードが 2 つ以上のモデルだけ)。

    Parameters
    ----------
    baselines, runs, target
        :func:`summary_rows` と同じ(予測・学習の結果・正解 [mg/dL])。

    Returns
    -------
    rmse : dict[str, np.ndarray]
        方法の名前 → RMSE [mg/dL]。各形状 (n_ahead,)
    sd : dict[str, np.ndarray]
        モデルの名前 → シード間の標準偏差 [mg/dL]。各形状 (n_ahead,)
    """
    means, spreads = {}, {}
    for name, per_run in _errors_by_method(baselines, runs, target).items():
        values = np.array([e["rmse"] for e in per_run])  # (学習, n_ahead)
        means[name] = values.mean(axis=0)
        if len(per_run) > 1:
            spreads[name] = values.std(axis=0, ddof=1)
    return means, spreads


def alert_rows(
    predictions: dict[str, np.ndarray],
    target: np.ndarray,
    segment: np.ndarray,
    step: int,
    threshold: float = HYPO_MGDL,
) -> list[dict[str, str]]:
    """表の行: 方法ごとの、step 回先の低血糖の警報の成績。

    Parameters
    ----------
    predictions : dict[str, np.ndarray]
        方法の名前 → 予測 [mg/dL]。形状 (N, n_ahead)
    target : np.ndarray
        正解 [mg/dL]。形状 (N, n_ahead)
    segment : np.ndarray
        各窓の区間の番号。形状 (N,)
    step : int
        評価する先(測定の回数、1 始まり)。
    threshold : float
        低血糖のしきい値 [mg/dL]。

    Returns
    -------
    list[dict[str, str]]
        方法ごとの行(感度・誤警報の回数など)。
    """
    rows = []
    for name, pred in predictions.items():
        res = hypo_alerts(
            pred[:, step - 1], target[:, step - 1], segment, threshold
        )
        rows.append(
            {
                "方法": name,
                "感度(時点)": f"{res.sensitivity:.2f}",
                "警報が出たエピソード": f"{res.n_events_alerted} / "
                f"{res.n_events}",
                "警報の回数": f"{res.n_alerts}",
                "誤警報 [回/日]": f"{res.false_alerts_per_day:.2f}",
            }
        )
    return rows


def target_hours(
    windows: WindowSet, start: np.datetime64, step: int
) -> np.ndarray:
    """各窓の step 回先(予測の対象)の時刻を、start からの時間 [時間] で。

    Parameters
    ----------
    windows : WindowSet
        窓の集合。
    start : np.datetime64
        時間を測る基準の時刻。
    step : int
        何回先か(1 回 = 5 分)。

    Returns
    -------
    np.ndarray
        経過時間 [時間]。形状 (N,)
    """
    elapsed_h = (windows.last_time - start).astype(np.float64) / 3600
    return elapsed_h + step * PERIOD_MIN / 60


def common_windows(
    a: WindowSet, b: WindowSet
) -> tuple[np.ndarray, np.ndarray]:
    """2 つの窓の集合に共通する窓(同じ被験者・同じ入力の最後の時刻)を探す。

    入力の長さの違う設定どうしを、同じ予測の対象で比べるために使う。

    Parameters
    ----------
    a, b : WindowSet
        比べる 2 つの窓の集合。

    Returns
    -------
    index_a, index_b : np.ndarray, 形状 (n_common,)
        共通する窓の、a と b での位置(a の順に並ぶ)。
    """
    position = {key: i for i, key in enumerate(zip(b.subject, b.last_time))}
    pairs = [
        (i, position[key])
        for i, key in enumerate(zip(a.subject, a.last_time))
        if key in position
    ]
    if not pairs:
        raise ValueError("2 つの窓の集合に共通する窓がありません")
    index_a, index_b = (np.array(col) for col in zip(*pairs))
    return index_a, index_b
