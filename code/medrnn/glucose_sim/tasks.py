"""シミュレータの血糖で、食事とインスリンを入力に加えた予測(多変量)を試す。

仮想患者を数日ずつシミュレートし、5 分ごとの CGM 値・炭水化物・インスリンを
並べた 3 チャネルの系列を作る。予測は「血糖だけ」と「血糖 + 炭水化物 +
インスリン」を比べる。訓練・検証・テストは仮想患者で分ける(同じ患者が
2 つの区間に入らない)。標準化の平均と標準偏差は訓練の患者だけから求める。
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from ..core.data import SEGMENTS, Standardizer, forecast_windows
from ..core.evaluation import LinearAR, mae, mean_std_text, rmse
from ..core.models.nets import ModelConfig, RecurrentRegressor
from ..core.training import History, TrainConfig, train_and_predict
from . import model as gs

CHANNELS = ("glucose", "carbs", "insulin")  # 入力のチャネル(この順に並ぶ)
CHANNEL_NAMES = {
    "glucose": "CGM 値 [mg/dL]",
    "carbs": "炭水化物 [g/5 分]",
    "insulin": "インスリン [U/5 分]",
}
INPUT_SETS = {"glucose": ("glucose",), "multi": CHANNELS}  # 比べる入力
INPUT_NAMES = {"glucose": "血糖のみ", "multi": "血糖 + 食事 + インスリン"}


@dataclass(frozen=True)
class CohortConfig:
    """仮想患者の集団のシミュレーションの設定。"""

    group: str = "adult"  # 仮想患者の群(adolescent・adult・child)
    n_days: int = 4  # 1 人あたりの日数
    sample_min: int = 5  # CGM の間隔 [min]
    plan: gs.MealPlan = field(default_factory=gs.MealPlan)  # 食事の決め方
    sensor: str | None = "GuardianRT"  # CGM の誤差のモデル(None なら誤差なし)
    seed: int = 0  # 食事・見積もり誤差・センサー誤差の乱数のシード

    def __post_init__(self) -> None:
        """設定の値が使えるかを確かめる(使えなければ ValueError)。"""
        if self.group not in gs.PATIENT_GROUPS:
            raise ValueError(
                f"group は {gs.PATIENT_GROUPS} のどれかにしてください"
                f"(受け取った値: {self.group!r})"
            )
        if self.n_days < 1 or self.sample_min < 1:
            raise ValueError(
                "n_days と sample_min は 1 以上にしてください"
                f"(受け取った値: {self.n_days}, {self.sample_min})"
            )


@dataclass(frozen=True)
class Cohort:
    """シミュレーションの結果。どの配列も 1 行が 1 人(患者の順は names)。"""

    names: list[str]  # 仮想患者の名前
    sample_min: int  # サンプルの間隔 [min]
    glucose: np.ndarray  # 真の皮下グルコース [mg/dL]。形状 (P, n)
    cgm: np.ndarray  # CGM の測定値(誤差入り)[mg/dL]。形状 (P, n)
    carbs: np.ndarray  # 各サンプルまでの 5 分間の炭水化物 [g]。形状 (P, n)
    insulin: np.ndarray  # 各サンプルまでの 5 分間のインスリン [U]。形状 (P, n)
    meals_g: np.ndarray  # 1 分ごとの食事 [g]。形状 (P, n_min)
    seconds: float  # シミュレーションにかかった秒数

    @property
    def t_min(self) -> np.ndarray:
        """各サンプルの時刻 [min]。形状 (n,)"""
        return np.arange(self.glucose.shape[1]) * self.sample_min

    def features(self) -> np.ndarray:
        """3 チャネル(CHANNELS の順)を並べた入力。形状 (P, n, 3)

        Returns
        -------
        np.ndarray
            CGM [mg/dL]・炭水化物 [g]・インスリン [U]。形状 (P, n, 3)
        """
        return np.stack([self.cgm, self.carbs, self.insulin], axis=-1)


def simulate_cohort(config: CohortConfig) -> Cohort:
    """群の仮想患者全員に、乱数の食事と基礎 + ボーラスのインスリンを
    与えて解く。

    Parameters
    ----------
    config : CohortConfig
        群・日数・CGM の間隔・食事の決め方・センサー・シード。

    Returns
    -------
    Cohort
        患者ごとの血糖・CGM・食事・インスリン。どれも形状 (P, n)
    """
    rng = np.random.default_rng(config.seed)
    names = gs.patient_names(config.group)
    patients = [gs.load_patient(name) for name in names]
    meals = np.stack(
        [gs.random_meals(config.n_days, config.plan, rng) for _ in patients]
    )  # (P, n_min)
    insulin = np.stack(
        [
            gs.basal_bolus(p, m, config.plan.count_error_sd, rng)
            for p, m in zip(patients, meals)
        ]
    )  # (P, n_min)
    start = time.perf_counter()
    glucose = gs.simulate(patients, meals, insulin, config.sample_min)
    seconds = time.perf_counter() - start
    noise = (
        np.zeros_like(glucose)
        if config.sensor is None
        else np.stack(
            [
                gs.cgm_noise(
                    glucose.shape[1], config.sample_min, rng, config.sensor
                )
                for _ in patients
            ]
        )
    )
    cgm = np.clip(glucose + noise, 39.0, 600.0)  # センサーの測定範囲
    return Cohort(
        names,
        config.sample_min,
        glucose,
        cgm,
        gs.bin_inputs(meals, config.sample_min),
        gs.bin_inputs(insulin, config.sample_min),
        meals,
        seconds,
    )


@dataclass(frozen=True)
class PatientSplit:
    """仮想患者を訓練・検証・テストに分ける(同じ患者は 1 つの区間だけ)。"""

    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]

    def __post_init__(self) -> None:
        """どの区間にも 1 人以上いて、患者が重ならないかを確かめる。"""
        names = self.train + self.val + self.test
        if not (self.train and self.val and self.test):
            raise ValueError(
                "train・val・test には 1 人以上ずつ入れてください"
            )
        if len(set(names)) != len(names):
            raise ValueError(f"2 つの区間に入っている患者があります: {names}")

    def rows(self, names: list[str]) -> dict[str, list[int]]:
        """区間名 → Cohort の行番号。

        Parameters
        ----------
        names : list[str]
            Cohort の患者の名前(行の順)。

        Returns
        -------
        dict[str, list[int]]
            "train"・"val"・"test" → 行番号。

        Raises
        ------
        ValueError
            names にいない患者が区間に入っているとき。
        """
        missing = set(self.train + self.val + self.test) - set(names)
        if missing:
            raise ValueError(
                f"シミュレーションにいない患者です: {sorted(missing)}"
            )
        return {
            seg: [names.index(n) for n in getattr(self, seg)]
            for seg in SEGMENTS
        }


@dataclass(frozen=True)
class SimForecastConfig:
    """予測の設定。"""

    seq_len: int = 24  # 入力窓の点数(5 分ごとなら 2 時間)
    horizon: int = 6  # 何点先を予測するか(5 分ごとなら 30 分先)
    inputs: str = "multi"  # INPUT_SETS のキー: "glucose" か "multi"
    train_stride: int = 1  # 訓練の窓をずらす幅(隣の窓はほぼ同じなので間引ける)

    def __post_init__(self) -> None:
        """設定の値が使えるかを確かめる(使えなければ ValueError)。"""
        if min(self.seq_len, self.horizon, self.train_stride) < 1:
            raise ValueError(
                "seq_len・horizon・train_stride は 1 以上にしてください"
                f"(受け取った値: {self.seq_len}, {self.horizon}, "
                f"{self.train_stride})"
            )
        if self.inputs not in INPUT_SETS:
            raise ValueError(
                f"inputs は {list(INPUT_SETS)} のどれかにしてください"
                f"(受け取った値: {self.inputs!r})"
            )

    @property
    def channels(self) -> list[int]:
        """使うチャネルの番号(CHANNELS の中の位置)。"""
        return [CHANNELS.index(c) for c in INPUT_SETS[self.inputs]]


@dataclass(frozen=True)
class SimForecastData:
    """区間ごとの窓(標準化済み)と、mg/dL に戻すための情報。

    正解 y は「今(窓の最後)の CGM 値からの変化」を標準化したもの。
    予測 = 今の値 + 予測した変化、なので、変化 0 が持続予測になる。
    """

    scaler: Standardizer  # 訓練の患者だけで求めた 3 チャネルの平均と標準偏差
    X: dict[str, torch.Tensor]  # 区間 → 入力。形状 (N, seq_len, n_channels)
    y: dict[str, torch.Tensor]  # 区間 → 変化(標準化)。形状 (N, 1)
    last_mg: dict[str, np.ndarray]  # 区間 → 窓の最後の CGM 値 [mg/dL]。(N,)
    target_mg: dict[str, np.ndarray]  # 区間 → 正解の CGM 値 [mg/dL]。(N,)
    rows: dict[str, np.ndarray]  # 区間 → 各窓の患者(Cohort の行)。(N,)
    target_index: dict[str, np.ndarray]  # 区間 → 正解のサンプル番号。(N,)

    def to_mg(self, change_z: np.ndarray, segment: str) -> np.ndarray:
        """標準化した変化の予測を、CGM 値 [mg/dL] の予測に戻す。

        Parameters
        ----------
        change_z : np.ndarray
            標準化した変化の予測。形状 (N,)
        segment : str
            区間の名前("train"・"val"・"test")。

        Returns
        -------
        np.ndarray
            CGM 値の予測 [mg/dL]。形状 (N,)
        """
        change_mg = np.asarray(change_z) * self.scaler.std[0]
        return self.last_mg[segment] + change_mg


def patient_windows(
    z: np.ndarray, rows: list[int], config: SimForecastConfig, stride: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """患者 rows の系列それぞれで窓を作り、患者をまたいでつなげる。

    Parameters
    ----------
    z : np.ndarray
        標準化した全患者の系列。形状 (P, n, n_features)
    rows : list[int]
        窓を作る患者(z の行番号)。
    config : SimForecastConfig
        窓の長さ・予測先・使うチャネル。
    stride : int
        窓をずらす幅(点の数)。

    Returns
    -------
    windows : np.ndarray
        入力窓(float32)。形状 (N, seq_len, n_channels)
    index : np.ndarray
        正解の位置(時刻の番号)。形状 (N,)
    patient : np.ndarray
        窓の患者(z の行番号)。形状 (N,)
    """
    parts = [
        forecast_windows(
            z[r][:, config.channels],
            config.seq_len,
            config.horizon,
            stride=stride,
        )
        for r in rows
    ]
    windows = np.concatenate([w for w, _ in parts]).astype(np.float32)
    index = np.concatenate([i for _, i in parts])
    patient = np.concatenate(
        [np.full(len(i), r) for r, (_, i) in zip(rows, parts)]
    )
    return windows, index, patient


def prepare_sim_forecast(
    cohort: Cohort, split: PatientSplit, config: SimForecastConfig
) -> SimForecastData:
    """患者ごとに窓を作り、訓練の患者の統計量で各チャネルを標準化する。"""
    rows = split.rows(cohort.names)
    features = cohort.features()  # (P, n, 3)
    scaler = Standardizer.fit(features[rows["train"]].reshape(-1, 3))
    z = scaler.transform(features.reshape(-1, 3)).reshape(features.shape)
    X, y, last, target, patient, index = {}, {}, {}, {}, {}, {}
    for seg in SEGMENTS:
        stride = config.train_stride if seg == "train" else 1
        windows, index[seg], patient[seg] = patient_windows(
            z, rows[seg], config, stride
        )
        last[seg] = cohort.cgm[patient[seg], index[seg] - config.horizon]
        target[seg] = cohort.cgm[patient[seg], index[seg]]
        change = (target[seg] - last[seg]) / scaler.std[0]  # 標準化した変化
        X[seg] = torch.from_numpy(windows)
        y[seg] = torch.from_numpy(change.astype(np.float32)).unsqueeze(-1)
    return SimForecastData(scaler, X, y, last, target, patient, index)


def recurrent_features(data: SimForecastData) -> dict[str, torch.Tensor]:
    """再帰型モデルへの入力: 窓と同じ情報を、ゲートが飽和しにくい大きさにする。

    チャネル 0 は標準化した CGM 値のまま、最後に「5 分ごとの CGM の変化」
    (窓の最初の点は 0)を訓練の窓の標準偏差で割って加える。炭水化物と
    インスリンはまばらな大きな値が標準化で 10 を超えるので、元の単位に戻し
    訓練の患者の最大値で割る(0〜1 程度)。どれも窓の値の一次変換なので、
    線形モデルには同じ入力である。区間 → 形状 (N, seq_len, n_channels + 1)
    """
    n_channels = data.X["train"].shape[2]
    mean = torch.tensor(data.scaler.mean[:n_channels], dtype=torch.float32)
    std = torch.tensor(data.scaler.std[:n_channels], dtype=torch.float32)
    level = data.X["train"][..., :1]
    step_sd = (level[:, 1:] - level[:, :-1]).std()  # 5 分の変化の大きさ
    peak = (data.X["train"] * std + mean).amax(dim=(0, 1))  # 元の単位の最大値
    out = {}
    for seg, X in data.X.items():
        level = X[..., :1]
        zero = torch.zeros_like(level[:, :1])  # 窓の最初の点の変化
        change = level[:, 1:] - level[:, :-1]  # 5 分ごとの変化
        step = torch.cat([zero, change], dim=1) / step_sd
        # 食事・インスリン
        events = (X[..., 1:] * std[1:] + mean[1:]) / peak[1:]
        out[seg] = torch.cat([level, events, step], dim=-1)
    return out


def baseline_predictions(
    data: SimForecastData, segment: str = "test"
) -> dict[str, np.ndarray]:
    """持続予測と線形モデル(同じ入力チャネル)の予測 [mg/dL]。

    Parameters
    ----------
    data : SimForecastData
        区間ごとの窓。線形モデルは訓練の窓で当てはめる。
    segment : str
        予測する区間。

    Returns
    -------
    dict[str, np.ndarray]
        方法の名前 → 予測 [mg/dL]。各形状 (N,)
    """
    linear = LinearAR.fit(data.X["train"], data.y["train"])
    return {
        "持続予測": data.last_mg[segment].copy(),
        "線形": data.to_mg(linear.predict(data.X[segment]), segment),
    }


@dataclass
class SimForecastRun:
    """1 つのモデルを 1 つのシードで学習した結果。予測はどれも [mg/dL]。"""

    model: nn.Module
    history: History
    test_pred_mg: np.ndarray  # テストの患者での予測。形状 (N_test,)
    seconds: float  # 学習にかかった秒数
    train_pred_mg: np.ndarray  # 訓練の窓での予測(当てはまりの確認)。(N_train,)
    val_pred_mg: np.ndarray  # 検証の患者での予測(設定の選択に使う)。(N_val,)


@dataclass(frozen=True)
class SimTraining:
    """再帰型モデルの学習の設定(入力の組・シードによらず共通)。"""

    kind: str = "gru"  # 再帰層の種類("rnn"・"lstm"・"gru")
    train: TrainConfig = TrainConfig()  # エポック数・バッチサイズ・学習率
    hidden_size: int = 32  # 隠れ状態の次元
    patience: int = 4  # 検証の損失が改善しないまま待つエポック数(早期終了)
    device: torch.device | None = None  # 学習に使うデバイス(None なら CPU)


def train_sim_forecaster(
    data: SimForecastData,
    seed: int,
    training: SimTraining,
    rescale: bool = True,
) -> SimForecastRun:
    """再帰型モデルで変化を学習し(検証の患者で早期終了)、各区間で予測する。

    学習は training.train_and_predict(device で学習し、予測は NumPy の配列)。
    ここでは入力を選び、予測を mg/dL に戻すだけ。

    Parameters
    ----------
    data : SimForecastData
        区間ごとの窓。
    seed : int
        初期値と並べ替えの乱数のシード。
    training : SimTraining
        モデルの種類・学習の設定・隠れ状態の次元・早期終了・デバイス。
    rescale : bool
        True なら recurrent_features の入力、False なら標準化しただけの窓。

    Returns
    -------
    SimForecastRun
        モデル(CPU)・学習曲線・各区間の予測 [mg/dL]・かかった秒数。
    """
    X = recurrent_features(data) if rescale else data.X
    device = training.device
    config = ModelConfig(
        kind=training.kind,
        input_size=X["train"].shape[2],
        hidden_size=training.hidden_size,
    )
    run = train_and_predict(
        lambda: RecurrentRegressor(config),
        X,
        data.y,
        seed,
        training.train,
        patience=training.patience,
        predict_on=SEGMENTS,
        device=torch.device("cpu") if device is None else device,
    )
    pred = {seg: data.to_mg(run.pred[seg], seg) for seg in SEGMENTS}
    return SimForecastRun(
        run.model,
        run.history,
        pred["test"],
        run.seconds,
        pred["train"],
        pred["val"],
    )


def minutes_from_meal(
    cohort: Cohort, rows: np.ndarray, origin_index: np.ndarray
) -> np.ndarray:
    """予測した時点(窓の最後)から見た、いちばん近い食事の開始までの時間 [min]。

    正なら食事の後(もう入力にある)、負なら食事の前(どの方法も知らない)。

    Parameters
    ----------
    cohort : 食事の記録。rows : 各窓の患者(Cohort の行)。形状 (N,)
    origin_index : 各窓の最後のサンプル番号。形状 (N,)

    Returns
    -------
    np.ndarray : 時間 [min]。形状 (N,)
    """
    origin = np.asarray(origin_index) * cohort.sample_min  # 時刻 [min]
    offsets = np.full(len(origin), np.inf)
    for r in np.unique(rows):
        meal_t = np.flatnonzero(cohort.meals_g[r] > 0)  # 食べ始めた分
        sel = np.flatnonzero(rows == r)
        diff = origin[sel, None] - meal_t[None, :]  # (n, n_meals)
        nearest = np.abs(diff).argmin(axis=1)
        offsets[sel] = diff[np.arange(len(sel)), nearest]
    return offsets


def rmse_by_bin(
    values: np.ndarray, errors: np.ndarray, edges: np.ndarray
) -> np.ndarray:
    """values の区間 [edges[i], edges[i+1]) ごとの誤差の RMSE。
    errors が 2 次元なら、行(シードごとの学習など)ごとに求める。

    Parameters
    ----------
    values : np.ndarray
        区間に分ける値(食事からの時間 [min] など)。形状 (N,)
    errors : np.ndarray
        予測 − 正解 [mg/dL]。形状 (N,) か (n_runs, N)
    edges : np.ndarray
        区間の境目(昇順)。形状 (n_bins + 1,)

    Returns
    -------
    np.ndarray
        RMSE [mg/dL](窓のない区間は NaN)。形状 (n_bins,) か (n_runs, n_bins)
    """
    e = np.asarray(errors)
    if e.ndim == 2:
        return np.stack([rmse_by_bin(values, row, edges) for row in e])
    out = np.full(len(edges) - 1, np.nan)
    which = np.digitize(values, edges) - 1
    for i in range(len(out)):
        sel = which == i
        if sel.any():
            out[i] = float(np.sqrt(np.mean(e[sel] ** 2)))
    return out


@dataclass
class Comparison:
    """入力の組ごとの、データ・単純な方法の予測・再帰型モデルの学習結果。"""

    data: dict[str, SimForecastData]  # 入力の組 → 窓
    baselines: dict[str, dict[str, np.ndarray]]  # 入力の組 → 方法 → 予測
    runs: dict[str, list[SimForecastRun]]  # 入力の組 → シードごとの学習結果

    def target_mg(self) -> np.ndarray:
        """テストの正解 [mg/dL](どの入力の組でも同じ)。形状 (N,)

        Returns
        -------
        np.ndarray
            形状 (N,)
        """
        return self.data["glucose"].target_mg["test"]


def compare_sim_inputs(
    cohort: Cohort,
    split: PatientSplit,
    config: SimForecastConfig,
    training: SimTraining,
    seeds: tuple[int, ...],
) -> Comparison:
    """「血糖のみ」と「血糖 + 食事 + インスリン」で、同じ方法どうしを比べる。

    どちらの入力の組でも、持続予測・線形モデル(同じチャネル)と、
    シードごとの再帰型モデル(:func:`train_sim_forecaster`)を求める。

    Parameters
    ----------
    cohort, split : Cohort, PatientSplit
        シミュレーションの結果と、訓練・検証・テストの患者。
    config : SimForecastConfig
        窓の設定(inputs は組ごとに置き換える)。
    training : SimTraining
        再帰型モデルの学習の設定。
    seeds : tuple[int, ...]
        シードの並び。

    Returns
    -------
    Comparison
        入力の組ごとの窓・単純な方法の予測・学習結果。
    """
    if not seeds:
        raise ValueError("seeds が空です")
    data, baselines, runs = {}, {}, {}
    for inputs in INPUT_SETS:
        cfg = replace(config, inputs=inputs)
        data[inputs] = prepare_sim_forecast(cohort, split, cfg)
        baselines[inputs] = baseline_predictions(data[inputs])
        runs[inputs] = [
            train_sim_forecaster(data[inputs], seed, training)
            for seed in seeds
        ]
    return Comparison(data, baselines, runs)


def comparison_rows(comp: Comparison, kind_name: str) -> list[dict[str, str]]:
    """表の行: 方法と入力ごとのテスト RMSE・MAE [mg/dL]。

    Parameters
    ----------
    comp : Comparison
        :func:`compare_sim_inputs` の結果。
    kind_name : str
        表に出す再帰型モデルの名前。

    Returns
    -------
    list[dict[str, str]]
        方法と入力の組ごとの行。
    """
    target = comp.target_mg()
    rows = [
        {
            "方法": "持続予測",
            "入力": "血糖のみ",
            "RMSE [mg/dL]": mean_std_text(
                [rmse(comp.baselines["glucose"]["持続予測"], target)]
            ),
            "MAE [mg/dL]": mean_std_text(
                [mae(comp.baselines["glucose"]["持続予測"], target)]
            ),
        }
    ]
    for name in ("線形", kind_name):
        for inputs in INPUT_SETS:
            preds = (
                [comp.baselines[inputs][name]]
                if name == "線形"
                else [r.test_pred_mg for r in comp.runs[inputs]]
            )
            rows.append(
                {
                    "方法": name,
                    "入力": INPUT_NAMES[inputs],
                    "RMSE [mg/dL]": mean_std_text(
                        [rmse(p, target) for p in preds]
                    ),
                    "MAE [mg/dL]": mean_std_text(
                        [mae(p, target) for p in preds]
                    ),
                }
            )
    return rows


def baseline_errors(
    cohort: Cohort, split: PatientSplit, config: SimForecastConfig
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """持続予測と線形モデル(2 つの入力の組)の、テストの窓での誤差。

    予測先は config.horizon。予測先ごとの RMSE の表は、予測先 → この結果 の
    辞書を :func:`horizon_rmse_table` に渡して作る。

    Parameters
    ----------
    cohort, split : Cohort, PatientSplit
        シミュレーションの結果と、訓練・検証・テストの患者。
    config : SimForecastConfig
        窓の設定(inputs は入力の組ごとに置き換える)。

    Returns
    -------
    errors : dict[str, np.ndarray]
        方法の名前 → 予測 − 正解 [mg/dL]。各形状 (N_test,)
    groups : np.ndarray
        各窓の患者(Cohort の行)。形状 (N_test,)
    """
    errors: dict[str, np.ndarray] = {}
    for inputs in INPUT_SETS:
        data = prepare_sim_forecast(
            cohort, split, replace(config, inputs=inputs)
        )
        preds = baseline_predictions(data)
        target = data.target_mg["test"]
        if inputs == "glucose":
            errors["持続予測"] = preds["持続予測"] - target
        errors[f"線形・{INPUT_NAMES[inputs]}"] = preds["線形"] - target
    return errors, data.rows["test"]


def horizon_rmse_table(
    by_horizon: dict[int, tuple[dict[str, np.ndarray], np.ndarray]],
) -> dict[str, np.ndarray]:
    """予測先ごとの誤差から、方法ごと・予測先の順の RMSE [mg/dL] を作る。

    Parameters
    ----------
    by_horizon : dict[int, (dict[str, np.ndarray], np.ndarray)]
        予測先(点の数)→ その予測先での :func:`baseline_errors` の結果。

    Returns
    -------
    dict[str, np.ndarray]
        方法の名前 → 形状 (len(by_horizon),)
    """
    names = list(next(iter(by_horizon.values()))[0])
    return {
        name: np.array(
            [
                float(np.sqrt(np.mean(errors[name] ** 2)))
                for errors, _ in by_horizon.values()
            ]
        )
        for name in names
    }
