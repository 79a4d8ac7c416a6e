"""プライバシーの章(book/privacy.md): 設定・実験・比較・主張の検査・report()。

CGM の章と同じ被験者の分け方・同じテストの窓で、(1) 集中学習、(2) 病院
ごとの単独の学習、(3) Flower の連合学習(FedAvg)を同じシードで比べ、
(4) Opacus の DP-SGD で ε と誤差の関係を調べる。匿名化と再識別の計算も
ここから呼ぶ。手法の優劣の向きは確かめずに、:mod:`medrnn.core.compare`
の判定から本文の言葉を選ぶ。
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from ..cgm.data import SubjectCGM, load_hall
from ..cgm.tasks import CGMData, WindowSet, forecast_mgdl, prepare_cgm
from ..core.claims import failed
from ..core.compare import (
    VERDICT_JA,
    Comparison,
    compare_predictions,
    compare_seeds,
)
from ..core.models.nets import ModelConfig, RecurrentRegressor
from ..core.repro import set_seed
from ..core.training import TrainConfig, train_and_predict
from ..privacy import anonymity, dp
from ..privacy import federated as fed
from .cgm import (
    CHAPTER_FORECAST,
    CHAPTER_HIDDEN,
    CHAPTER_SPLIT,
)

# 章の設定(本文とコマンドラインで共通)
# CGM の章と同じ分け方・同じテストの窓。訓練の窓だけ 4 回(20 分)ずつずらす
PRIVACY_FORECAST = replace(CHAPTER_FORECAST, train_stride=4)
MODEL = ModelConfig(
    kind="gru",
    hidden_size=CHAPTER_HIDDEN,
    output_size=CHAPTER_FORECAST.n_ahead,
)  # CGM の章の GRU と同じ形
CENTRAL = TrainConfig(epochs=4, batch_size=256, lr=1e-2)  # 集中・単独の学習
LOCAL_ROUND = replace(CENTRAL, epochs=1)  # 連合学習の 1 ラウンドの病院の学習
N_ROUNDS = CENTRAL.epochs  # ラウンドの数(集中学習のエポックと同じ周回数)
N_HOSPITALS = 3  # 病院の数
SCHEMES = {"混合": False, "診断別": True}  # 分け方 → 診断で分けるか
SCHEME_KEYS = {"混合": "mixed", "診断別": "diag"}  # glue の名前
CHAPTER_SEEDS = (0, 1, 2, 3, 4)
STEP_30 = 6  # 比べる先: 6 回 = 30 分先
N_BOOT = 2000  # 患者単位のブートストラップの回数
NOISE_LEVELS = (0.5, 1.0, 2.0)  # DP-SGD の雑音の大きさ σ
DP_BASE = dp.DPConfig(noise_multiplier=1.0, epochs=2)  # 256・C = 1
DP_REFERENCE = TrainConfig(
    epochs=DP_BASE.epochs, batch_size=DP_BASE.batch_size, lr=DP_BASE.lr
)  # DP なしの同じ学習(比べる相手)
DP_SEED = 0  # DP-SGD は 1 シードだけ(時間の都合)
FEDAVG_TOL = 1e-5  # 本書の FedAvg と Flower の集約の差の許容 [重みの単位]
QUASI = ("研究", "診断", "測定開始", "測定日数")  # 準識別子
GENERALIZATIONS = {
    "元の表": {},
    "年だけ・週単位": {
        "測定開始": anonymity.to_year,
        "測定日数": anonymity.to_week_band,
    },
    "開始日を消す・週単位": {
        "測定開始": anonymity.suppressed,
        "測定日数": anonymity.to_week_band,
    },
}  # 粗くする段階 → 列ごとの規則
RUN_LENGTHS = (1, 2, 3, 4, 6, 12)  # 一意性を調べる並びの長さ [測定の回数]


@dataclass
class ModelRun:
    """1 つのモデルを 1 つのシードで学習した結果。"""

    test_pred: np.ndarray  # テストの予測 [mg/dL]。形状 (N, n_ahead)
    val_rmse: list[float]  # 学習前と各エポック(ラウンド)後の検証 RMSE


@dataclass
class PrivacyResults:
    """章の実験の結果。"""

    data: CGMData  # 窓(CGM の章と同じ分け方)
    diagnosis: dict[str, str]  # 被験者 → 診断
    hospitals: dict[str, dict[str, list[str]]]  # 分け方 → 病院 → 被験者
    central: list[ModelRun]  # 集中学習(シードの順)
    local: dict[str, dict[str, list[ModelRun]]]  # 分け方 → 病院 → シード
    federated: dict[str, list[ModelRun]]  # 分け方 → シードの順
    rounds: dict[str, list[fed.RoundRecord]]  # 分け方 → 1 ラウンド目の記録
    dp_runs: dict[float, dp.DPRun]  # σ → DP-SGD の学習
    dp_pred: dict[float, np.ndarray]  # σ → テストの予測 [mg/dL]
    dp_reference: ModelRun  # DP なしの同じ学習
    seconds: dict[str, float]  # 部分ごとの秒数

    @property
    def test(self) -> WindowSet:
        """テストの窓(正解 ``Y`` [mg/dL] と被験者 ``subject``)。"""
        return self.data.windows["test"]


def prepare(subjects: Sequence[SubjectCGM]) -> CGMData:
    """CGM の章と同じ分け方で窓を作る(訓練の窓は 4 回ずつずらす)。

    Parameters
    ----------
    subjects : Sequence[SubjectCGM]
        Hall et al. (2018) の全被験者(:func:`load_hall` の結果)。

    Returns
    -------
    CGMData
        訓練・検証・テストの窓。入力の形状 (N, seq_len, 1)、正解 (N, n_ahead)
    """
    return prepare_cgm(list(subjects), CHAPTER_SPLIT, PRIVACY_FORECAST)


def make_hospitals(
    data: CGMData, diagnosis: dict[str, str]
) -> dict[str, dict[str, list[str]]]:
    """訓練の被験者を、2 通りの分け方で N_HOSPITALS の病院に分ける。

    Parameters
    ----------
    data : CGMData
        :func:`prepare` の窓(訓練の被験者 ``groups["train"]`` を使う)。
    diagnosis : dict[str, str]
        被験者の番号 → 診断。

    Returns
    -------
    dict[str, dict[str, list[str]]]
        分け方(「混合」「診断別」)→ 病院の名前 → 被験者。
    """
    ids = data.groups["train"]
    return {
        scheme: fed.assign_hospitals(
            ids, [diagnosis[i] for i in ids], N_HOSPITALS, by_diagnosis
        )
        for scheme, by_diagnosis in SCHEMES.items()
    }


def _val_rmse(model: torch.nn.Module, data: CGMData) -> float:
    """検証の RMSE [mg/dL](12 個の先をまとめて)。"""
    model.eval()
    with torch.inference_mode():
        mse = torch.mean(
            (model(data.inputs("val")) - data.targets("val")) ** 2
        )
    return float(mse.sqrt()) * data.std


def state_rmse(state: fed.State, data: CGMData) -> float:
    """重み state のモデルの検証 RMSE [mg/dL](サーバー側の評価)。

    Parameters
    ----------
    state : fed.State
        章の GRU(MODEL)の state_dict。
    data : CGMData
        検証の窓を持つデータ。

    Returns
    -------
    float
        12 個の先をまとめた検証 RMSE [mg/dL]。
    """
    model = RecurrentRegressor(MODEL)
    model.load_state_dict(state)
    return _val_rmse(model, data)


def train_alone(
    X: torch.Tensor,
    y: torch.Tensor,
    data: CGMData,
    seed: int,
    train: TrainConfig,
    every_epoch: bool = True,
) -> ModelRun:
    """窓 (X, y) だけで学習する(集中学習・病院の単独の学習に共通)。

    初期の重みは、同じシードの連合学習と同じ(:func:`initial_state`)。
    every_epoch が False なら、検証 RMSE は学習の前と後だけ測る。

    Parameters
    ----------
    X, y : torch.Tensor
        標準化した訓練の窓。形状 (N, seq_len, 1) と (N, n_ahead)
    data : CGMData
        検証とテストの窓(予測は [mg/dL] に戻す)。
    seed : int
        乱数の種(初期の重みは :func:`initial_state` と同じになる)。
    train : TrainConfig
        エポック数・バッチサイズ・学習率。
    every_epoch : bool
        True ならエポックごとに検証 RMSE を測る。

    Returns
    -------
    ModelRun
        テストの予測 [mg/dL](形状 (N_test, n_ahead))と検証 RMSE の推移。
    """
    start = state_rmse(initial_state(seed), data)
    groups = ("train", "val") if every_epoch else ("train",)
    inputs = {"train": X, "val": data.inputs("val")}
    targets = {"train": y, "val": data.targets("val")}
    run = train_and_predict(
        lambda: RecurrentRegressor(MODEL),
        {g: inputs[g] for g in groups},
        {g: targets[g] for g in groups},
        seed,
        train,
        predict_on=(),
        device=torch.device("cpu"),
    )
    curve = [float(np.sqrt(v)) * data.std for v in run.history.val_loss]
    return ModelRun(
        forecast_mgdl(run.model, data, "test"),
        [start, *curve] if curve else [start, _val_rmse(run.model, data)],
    )


def initial_state(seed: int) -> fed.State:
    """シード seed の初期の重み(:func:`train_alone` と同じ)。

    Parameters
    ----------
    seed : int
        :func:`set_seed` に渡す種。

    Returns
    -------
    fed.State
        章の GRU(MODEL)の初期の state_dict。
    """
    set_seed(seed)
    return RecurrentRegressor(MODEL).state_dict()


def run_federated(
    data: CGMData,
    hospitals: dict[str, dict[str, list[str]]],
    seeds: Sequence[int],
) -> tuple[dict[str, list[ModelRun]], dict[str, list[fed.RoundRecord]]]:
    """Flower で、2 通りの分け方 × シードの連合学習をまとめて行う。

    Ray の起動は 1 回(1 回のシミュレーションの中で順に学習する)。

    Parameters
    ----------
    data : CGMData
        :func:`prepare` の窓。病院には訓練の窓だけを配る。
    hospitals : dict[str, dict[str, list[str]]]
        分け方 → 病院 → 被験者(:func:`make_hospitals` の結果)。
    seeds : Sequence[int]
        初期の重みと病院の中の学習のシード。

    Returns
    -------
    tuple[dict[str, list[ModelRun]], dict[str, list[fed.RoundRecord]]]
        (分け方 → シードの順の結果, 分け方 → 1 ラウンド目の記録)。
    """
    schemes = {s: fed.hospital_data(data, h) for s, h in hospitals.items()}
    jobs = [
        fed.FedJob(scheme, seed, initial_state(seed))
        for scheme in schemes
        for seed in seeds
    ]
    runs = fed.run_flower(
        schemes,
        jobs,
        MODEL,
        LOCAL_ROUND,
        N_ROUNDS,
        lambda state: state_rmse(state, data),
    )
    models: dict[str, list[ModelRun]] = {s: [] for s in schemes}
    rounds: dict[str, list[fed.RoundRecord]] = {s: [] for s in schemes}
    for run in runs:
        model = RecurrentRegressor(MODEL)
        model.load_state_dict(run.state)
        models[run.scheme].append(
            ModelRun(forecast_mgdl(model, data, "test"), run.val_rmse)
        )
        if run.first_round is not None:
            rounds[run.scheme].append(run.first_round)
    return models, rounds


def run_local(
    data: CGMData,
    hospitals: dict[str, dict[str, list[str]]],
    seeds: Sequence[int],
) -> dict[str, dict[str, list[ModelRun]]]:
    """病院ごとに、その病院の窓だけで学習する(分け方 → 病院 → シード)。

    Parameters
    ----------
    data, hospitals, seeds
        :func:`run_federated` と同じ。各病院を CENTRAL の設定で学習し、
        検証 RMSE は学習の前後だけ測る。

    Returns
    -------
    dict[str, dict[str, list[ModelRun]]]
        分け方 → 病院の名前 → シードの順の結果。
    """
    out: dict[str, dict[str, list[ModelRun]]] = {}
    for scheme, h in hospitals.items():
        out[scheme] = {}
        for hospital in fed.hospital_data(data, h):
            X, y = hospital.tensors()
            out[scheme][hospital.name] = [
                train_alone(X, y, data, seed, CENTRAL, every_epoch=False)
                for seed in seeds
            ]
    return out


def run_dp(
    data: CGMData, noise_levels: Sequence[float] = NOISE_LEVELS
) -> tuple[dict[float, dp.DPRun], dict[float, np.ndarray], ModelRun]:
    """σ ごとの DP-SGD と、DP なしの同じ学習(どちらも DP_SEED)。

    Parameters
    ----------
    data : CGMData
        :func:`prepare` の窓(訓練の窓全体で学習する)。
    noise_levels : Sequence[float]
        調べる雑音の大きさ σ。

    Returns
    -------
    tuple[dict[float, dp.DPRun], dict[float, np.ndarray], ModelRun]
        (σ → 学習の結果, σ → テストの予測 [mg/dL]。形状 (N_test, n_ahead),
        DP なしの同じ学習の結果)。
    """
    X, y = data.inputs("train"), data.targets("train")
    runs = {
        s: dp.train_dp(
            X, y, MODEL, replace(DP_BASE, noise_multiplier=s), DP_SEED
        )
        for s in noise_levels
    }
    preds = {s: forecast_mgdl(r.model, data, "test") for s, r in runs.items()}
    return (
        runs,
        preds,
        train_alone(X, y, data, DP_SEED, DP_REFERENCE, every_epoch=False),
    )


class _Clock:
    """部分ごとの経過秒数と、このプロセスの CPU 秒数を記録する。

    ``seconds[name]`` は経過秒、``seconds[name + "_cpu"]`` はこのプロセスの
    CPU 秒(Flower の Ray のワーカーの分は含まない)。
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def lap(self, name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.seconds[name] = wall - self._wall
        self.seconds[f"{name}_cpu"] = cpu - self._cpu
        self._wall, self._cpu = wall, cpu


def run_experiment(
    subjects: Sequence[SubjectCGM], seeds: Sequence[int] = CHAPTER_SEEDS
) -> PrivacyResults:
    """章の実験をまとめて行う(集中・単独・連合学習と DP-SGD)。

    Parameters
    ----------
    subjects : Sequence[SubjectCGM]
        全被験者の CGM の記録。
    seeds : Sequence[int]
        集中・単独・連合学習のシード(DP-SGD は DP_SEED だけ)。

    Returns
    -------
    PrivacyResults
        窓・病院の分け方・各学習の予測と検証 RMSE・ε・部分ごとの秒数。
    """
    data = prepare(subjects)
    diagnosis = {s.subject_id: s.diagnosis for s in subjects}
    hospitals = make_hospitals(data, diagnosis)
    X, y = data.inputs("train"), data.targets("train")
    clock = _Clock()
    central = [train_alone(X, y, data, seed, CENTRAL) for seed in seeds]
    local = run_local(data, hospitals, seeds)
    clock.lap("central_local")
    federated, rounds = run_federated(data, hospitals, seeds)
    clock.lap("flower")
    dp_runs, dp_pred, dp_reference = run_dp(data)
    clock.lap("dp")
    seconds = clock.seconds
    return PrivacyResults(
        data,
        diagnosis,
        hospitals,
        central,
        local,
        federated,
        rounds,
        dp_runs,
        dp_pred,
        dp_reference,
        seconds,
    )


# --- 比較 ------------------------------------------------------------------


def hospital_test_mask(
    results: PrivacyResults, scheme: str, name: str
) -> np.ndarray:
    """その病院の「自分の患者」に当たるテストの窓(同じ診断の人)。

    Parameters
    ----------
    results : PrivacyResults
        :func:`run_experiment` の結果。
    scheme : str
        分け方(「混合」か「診断別」)。
    name : str
        病院の名前(「病院 A」など)。

    Returns
    -------
    np.ndarray
        テストの窓ごとの真偽値。形状 (N_test,)
    """
    kinds = {results.diagnosis[i] for i in results.hospitals[scheme][name]}
    return np.array(
        [results.diagnosis[p] in kinds for p in results.test.subject]
    )


def rmse_30(preds: Sequence[np.ndarray], target: np.ndarray) -> np.ndarray:
    """30 分先のテスト RMSE [mg/dL] をシードの順に。

    Parameters
    ----------
    preds : Sequence[np.ndarray]
        シードごとのテストの予測 [mg/dL]。どれも形状 (N, n_ahead)
    target : np.ndarray
        正解 [mg/dL]。形状 (N, n_ahead)

    Returns
    -------
    np.ndarray
        STEP_30 番目の先の RMSE。形状 (n_seeds,)
    """
    return np.array(
        [
            np.sqrt(np.mean((p[:, STEP_30 - 1] - target[:, STEP_30 - 1]) ** 2))
            for p in preds
        ]
    )


@dataclass(frozen=True)
class PairComparison:
    """2 つの方法の、シードで対応させた比較と患者単位の比較。"""

    by_seed: Comparison | None  # シードが 1 つなら None
    by_patient: Comparison  # テストの患者単位のブートストラップ

    @property
    def verdict(self) -> str:
        """本文の向き: 2 つの判定がそろったときだけ良い・悪い。"""
        v = self.by_patient.verdict
        if self.by_seed is None or self.by_seed.verdict == v:
            return v
        return "cannot tell"


def compare_runs(
    a: Sequence[np.ndarray],
    b: Sequence[np.ndarray],
    target: np.ndarray,
    patients: np.ndarray,
    names: tuple[str, str],
) -> PairComparison:
    """予測の並び a と b(シードの順)を、30 分先の RMSE で比べる。

    Parameters
    ----------
    a, b : Sequence[np.ndarray]
        2 つの方法の予測 [mg/dL]。各要素は形状 (N, n_ahead)、同じシードの順
    target : np.ndarray
        正解 [mg/dL]。形状 (N, n_ahead)
    patients : np.ndarray
        窓ごとの被験者(患者単位のブートストラップに使う)。形状 (N,)
    names : tuple[str, str]
        a と b の名前(判定の文に使う)。

    Returns
    -------
    PairComparison
        シードで対応させた比較(シードが 1 つなら None)と患者単位の比較。
    """
    by_seed = None
    if len(a) >= 2:
        by_seed = compare_seeds(rmse_30(a, target), rmse_30(b, target), names)
    errors = [
        np.stack([p[:, STEP_30 - 1] for p in preds]) - target[:, STEP_30 - 1]
        for preds in (a, b)
    ]
    by_patient = compare_predictions(
        errors[0], errors[1], patients, names, n_boot=N_BOOT, unit_name="患者"
    )
    return PairComparison(by_seed, by_patient)


def _preds(runs: Sequence[ModelRun]) -> list[np.ndarray]:
    return [r.test_pred for r in runs]


def compare_main(results: PrivacyResults) -> dict[str, PairComparison]:
    """本文の主な比較(glue の名前の元 → 比較)。

    Parameters
    ----------
    results : PrivacyResults
        章の実験の結果。連合学習(両方の分け方)と集中学習を使う。

    Returns
    -------
    dict[str, PairComparison]
        「prv_fed_mixed_central」などの名前 → FedAvg と集中学習などの比較。
    """
    t, p = results.test.Y, results.test.subject
    central = _preds(results.central)
    out = {}
    for scheme, key in SCHEME_KEYS.items():
        fed_preds = _preds(results.federated[scheme])
        out[f"prv_fed_{key}_central"] = compare_runs(
            fed_preds, central, t, p, (f"FedAvg({scheme})", "集中学習")
        )
    out["prv_fed_diag_mixed"] = compare_runs(
        _preds(results.federated["診断別"]),
        _preds(results.federated["混合"]),
        t,
        p,
        ("FedAvg(診断別)", "FedAvg(混合)"),
    )
    return out


def compare_hospitals(
    results: PrivacyResults,
) -> dict[tuple[str, str], PairComparison]:
    """各病院で、連合学習のモデルと単独のモデルを「自分の患者」で比べる。

    Parameters
    ----------
    results : PrivacyResults
        単独の学習と連合学習を含む、章の実験の結果。

    Returns
    -------
    dict[tuple[str, str], PairComparison]
        (分け方, 病院の名前) → FedAvg と単独の比較。
    """
    out = {}
    for scheme, by_hospital in results.local.items():
        for name, runs in by_hospital.items():
            m = hospital_test_mask(results, scheme, name)
            out[(scheme, name)] = compare_runs(
                [r.test_pred[m] for r in results.federated[scheme]],
                [r.test_pred[m] for r in runs],
                results.test.Y[m],
                results.test.subject[m],
                ("FedAvg", f"{name}の単独"),
            )
    return out


def compare_dp(results: PrivacyResults) -> dict[float, PairComparison]:
    """σ ごとに、DP-SGD と DP なしの同じ学習を比べる(1 シード、患者単位)。

    Parameters
    ----------
    results : PrivacyResults
        DP-SGD の予測と、DP なしの同じ学習を含む結果。

    Returns
    -------
    dict[float, PairComparison]
        σ → 比較(by_seed は None)。
    """
    return {
        s: compare_runs(
            [pred],
            [results.dp_reference.test_pred],
            results.test.Y,
            results.test.subject,
            (f"DP-SGD(σ = {s:g})", "DP なし"),
        )
        for s, pred in results.dp_pred.items()
    }


WORDS = {
    "better": "誤差が小さい",
    "worse": "誤差が大きい",
    "cannot tell": "誤差の差の向きは判断できない",
}  # 判定 → 本文の言葉(「A は B と比べて …」)


def hospital_rows(results: PrivacyResults) -> list[dict[str, str]]:
    """表の行: 病院ごとの患者・自分の患者での RMSE(単独と FedAvg)と判定。

    Parameters
    ----------
    results : PrivacyResults
        章の実験の結果(病院ごとの学習を使う)。

    Returns
    -------
    list[dict[str, str]]
        分け方 × 病院ごとの行(列名 → 表に出す文字列。RMSE は [mg/dL])。
    """
    errors = hospital_errors(results)
    test_ids = results.test.subject
    rows = []
    for (scheme, name), pc in compare_hospitals(results).items():
        ids = results.hospitals[scheme][name]
        mask = hospital_test_mask(results, scheme, name)
        kinds = "・".join(sorted({results.diagnosis[i] for i in ids}))
        e = errors[f"{scheme}\n{name}"]
        rows.append(
            {
                "分け方": scheme,
                "病院": name,
                "訓練の患者(診断)": f"{len(ids)} 人({kinds})",
                "自分の患者(テスト)": f"{len(set(test_ids[mask]))} 人",
                "単独 [mg/dL]": f"{e['単独'].mean():.2f}",
                "FedAvg [mg/dL]": f"{e['FedAvg'].mean():.2f}",
                "FedAvg の判定": VERDICT_JA[pc.verdict],
            }
        )
    return rows


def dp_rows(results: PrivacyResults) -> list[dict[str, str]]:
    """表の行: σ・ε(δ)・更新の回数・テスト RMSE と、DP なしとの差。

    Parameters
    ----------
    results : PrivacyResults
        章の実験の結果(σ ごとの DP-SGD を使う)。

    Returns
    -------
    list[dict[str, str]]
        σ ごとの行(列名 → 文字列)。差と 95% 区間は [mg/dL]
    """
    comps = compare_dp(results)
    rows = []
    for s, run in results.dp_runs.items():
        c = comps[s].by_patient
        rmse = rmse_30([results.dp_pred[s]], results.test.Y)[0]
        rows.append(
            {
                "σ": f"{s:g}",
                "ε(δ = 10⁻⁵)": f"{run.epsilon:.2f}",
                "更新の回数": f"{run.steps}",
                "30 分先の RMSE [mg/dL]": f"{rmse:.2f}",
                "DP なしとの差 [mg/dL]": f"{c.mean_diff:+.2f}",
                "95% 区間(患者)": f"{c.low:+.2f}〜{c.high:+.2f}",
            }
        )
    return rows


def hospital_errors(
    results: PrivacyResults,
) -> dict[str, dict[str, np.ndarray]]:
    """図の値: 病院 → {単独・FedAvg: 自分の患者での RMSE(シードの順)}。

    Parameters
    ----------
    results : PrivacyResults
        実験の結果(:func:`plot_hospital_errors` に渡す値を作る)。

    Returns
    -------
    dict[str, dict[str, np.ndarray]]
        分け方と病院の名前を改行でつないだ名前 → {方法: RMSE [mg/dL]。形状
        (n_seeds,)}
    """
    out = {}
    for scheme, by_hospital in results.local.items():
        for name, runs in by_hospital.items():
            m = hospital_test_mask(results, scheme, name)
            out[f"{scheme}\n{name}"] = {
                "単独": rmse_30(
                    [r.test_pred[m] for r in runs], results.test.Y[m]
                ),
                "FedAvg": rmse_30(
                    [r.test_pred[m] for r in results.federated[scheme]],
                    results.test.Y[m],
                ),
            }
    return out


def sigma_key(sigma: float) -> str:
    """glue の名前に使う σ(0.5 → "0_5"、1.0 → "1")。

    Parameters
    ----------
    sigma : 雑音の大きさ σ(float)。glue の名前には小数点を使えない

    Returns
    -------
    str
        ``f"{sigma:g}"`` の小数点を「_」にした文字列。
    """
    return f"{sigma:g}".replace(".", "_")


def dp_curve(results: PrivacyResults) -> tuple[np.ndarray, np.ndarray, float]:
    """図の値: σ の順の ε、30 分先の RMSE [mg/dL]、DP なしの RMSE。

    Parameters
    ----------
    results : PrivacyResults
        DP-SGD の学習(σ ごと)と DP なしの学習を含む結果。

    Returns
    -------
    tuple[np.ndarray, np.ndarray, float]
        (ε。形状 (n_sigma,), RMSE [mg/dL]。形状 (n_sigma,),
        DP なしの RMSE [mg/dL])。
    """
    sigmas = sorted(results.dp_runs)
    eps = np.array([results.dp_runs[s].epsilon for s in sigmas])
    rmse = np.array(
        [rmse_30([results.dp_pred[s]], results.test.Y)[0] for s in sigmas]
    )
    ref = rmse_30([results.dp_reference.test_pred], results.test.Y)[0]
    return eps, rmse, float(ref)


# --- 匿名化 ---------------------------------------------------------------


def k_by_generalization(subjects: Sequence[SubjectCGM]) -> dict[str, int]:
    """粗くする段階ごとの表の k。

    Parameters
    ----------
    subjects : Sequence[SubjectCGM]
        被験者の記録(:func:`anonymity.metadata_rows` で表にする)。

    Returns
    -------
    dict[str, int]
        GENERALIZATIONS の段階の名前 → 準識別子 QUASI についての k。
    """
    rows = anonymity.metadata_rows(subjects)
    return {
        name: anonymity.k_anonymity(anonymity.generalize(rows, rules), QUASI)
        for name, rules in GENERALIZATIONS.items()
    }


def uniqueness(subjects: Sequence[SubjectCGM]) -> dict[int, float]:
    """並びの長さ [測定の回数] → 1 人にしか現れない並びの割合 [%]。

    Parameters
    ----------
    subjects : Sequence[SubjectCGM]
        被験者の CGM の記録(途切れのない区間の中の並びを数える)。

    Returns
    -------
    dict[int, float]
        RUN_LENGTHS の長さごとの割合 [%](0〜100)。
    """
    return {
        n: 100 * anonymity.unique_fraction(subjects, n) for n in RUN_LENGTHS
    }


# --- 主張の検査 -------------------------------------------------------------


def fedavg_gaps(results: PrivacyResults) -> list[float]:
    """各連合学習の 1 ラウンド目の、本書の fedavg と Flower の集約の最大の差。

    差は重みの絶対値の差の最大値。連合学習ごとに 1 つ。

    Parameters
    ----------
    results : PrivacyResults
        1 ラウンド目の記録(rounds)を含む結果。

    Returns
    -------
    list[float]
        差 [重みの単位]。長さは記録のある連合学習の数
    """
    gaps = []
    for records in results.rounds.values():
        for r in records:
            mine = fed.fedavg(r.states, r.n_examples)
            gaps.append(
                max(
                    float((mine[k] - r.aggregated[k]).abs().max())
                    for k in mine
                )
            )
    return gaps


def _first_pass(runs: Sequence[ModelRun]) -> float:
    """1 エポック(1 ラウンド)後の検証 RMSE のシードの平均 [mg/dL]。"""
    return float(np.mean([r.val_rmse[1] for r in runs]))


def check_claims(
    results: PrivacyResults, subjects: Sequence[SubjectCGM]
) -> list[str]:
    """本文の頑健な主張のうち、成り立たないものの文を返す。

    Parameters
    ----------
    results : PrivacyResults
        :func:`run_experiment` の結果。
    subjects : Sequence[SubjectCGM]
        実験に使った全被験者(k-匿名性と再識別の主張に使う)。

    Returns
    -------
    list[str]
        成り立たない主張の文(全部成り立てば空)。
    """
    train = set(results.data.groups["train"])
    n_train = len(results.data.windows["train"].X)
    n_seeds = len(results.central)
    hospitals_ok = all(
        sorted(sum(h.values(), [])) == sorted(train)
        for h in results.hospitals.values()
    )
    records = [r for rs in results.rounds.values() for r in rs]
    eps = [results.dp_runs[s].epsilon for s in sorted(results.dp_runs)]
    recomputed = all(
        np.isclose(
            run.epsilon,
            dp.rdp_epsilon(s, run.sample_rate, run.steps, run.config.delta),
            rtol=1e-9,
        )
        for s, run in results.dp_runs.items()
    )
    gaps = fedavg_gaps(results)
    k = k_by_generalization(subjects)
    claims = {
        "どちらの分け方でも、訓練の全員がちょうど 1 つの病院に入っている": (
            hospitals_ok
        ),
        "テストと検証の人はどの病院にも入っていない": not any(
            set(sum(h.values(), [])) - train
            for h in results.hospitals.values()
        ),
        (
            "診断別の病院には 1 つの診断の人だけ、"
            "混合の病院には 2 つの診断の人がいる"
        ): all(
            len({results.diagnosis[i] for i in ids}) == (1 if by_diag else 2)
            for scheme, by_diag in SCHEMES.items()
            for ids in results.hospitals[scheme].values()
        ),
        "連合学習はどの分け方・どのシードでも実行された": all(
            len(results.federated[s]) == n_seeds == len(results.rounds[s])
            for s in SCHEMES
        ),
        "1 ラウンド目の本書の fedavg と Flower の集約の差は許容誤差以下": bool(
            gaps
        )
        and max(gaps) <= FEDAVG_TOL,
        "1 ラウンド目に病院が報告した窓の数の合計は訓練の窓の数": all(
            sum(r.n_examples) == n_train for r in records
        ),
        "病院の学習はノートブックとは別のプロセスで行われた": all(
            os.getpid() not in r.pids for r in records
        ),
        "病院のワーカーのシードのずらし幅は、ノートブックと同じ": all(
            fed.same_seed_offset(r) for r in records
        ),
        "どの学習でも、最後の検証 RMSE は学習前より小さい": all(
            run.val_rmse[-1] < run.val_rmse[0]
            for runs in (
                results.central,
                *results.federated.values(),
                *(r for h in results.local.values() for r in h.values()),
            )
            for run in runs
        ),
        (
            "1 周目の後の検証 RMSE(シードの平均)は、集中学習の方が"
            "どちらの FedAvg より小さい"
        ): all(
            _first_pass(results.central) < _first_pass(runs)
            for runs in results.federated.values()
        ),
        "ε は Opacus の会計係で求め直した値と一致する": recomputed,
        "σ を大きくするほど ε は小さい": all(
            a > b for a, b in zip(eps, eps[1:])
        ),
        "元の表の k は 1、最後の段階の k は 2 以上": (
            k["元の表"] == 1 and list(k.values())[-1] >= 2
        ),
        "要約からの再識別の割合は、当て推量(1/人数)より高い": (
            anonymity.reidentification_rate(subjects) > 1 / len(subjects)
        ),
    }
    return failed(claims)


# --- 練習問題 ---------------------------------------------------------------


def exercise_1(subjects: Sequence[SubjectCGM]) -> dict[str, int]:
    """問題 1: 研究の番号も消すと k はいくつになるか(段階ごとの k)。

    Parameters
    ----------
    subjects : 被験者の記録(:func:`k_by_generalization` と同じ)
    """
    rows = anonymity.metadata_rows(subjects)
    rules = {
        **GENERALIZATIONS["開始日を消す・週単位"],
        "研究": anonymity.suppressed,
    }
    return {
        "診断だけ残す": anonymity.k_anonymity(
            anonymity.generalize(rows, rules), QUASI
        ),
        "診断も消す": anonymity.k_anonymity(
            anonymity.generalize(
                rows, {c: anonymity.suppressed for c in QUASI}
            ),
            QUASI,
        ),
    }


def exercise_2(
    results: PrivacyResults, sigma: float = 1.0
) -> dict[str, float]:
    """問題 2: 1 人の患者(全部の窓)についての (ε, δ) はどこまで弱まるか。

    Parameters
    ----------
    results, sigma : 章の実験の結果と、調べる DP-SGD の σ

    Returns
    -------
    dict[str, float] : k(最も多い人の窓の数)・ε・kε・log10 δ_k
    """
    run = results.dp_runs[sigma]
    subject = results.data.windows["train"].subject
    k = int(np.unique(subject, return_counts=True)[1].max())  # 最も多い人の窓
    eps_k, _ = dp.group_epsilon(run.epsilon, run.config.delta, k)
    return {
        "k": k,
        "epsilon": run.epsilon,
        "epsilon_k": eps_k,
        "log10_delta_k": dp.log10_group_delta(
            run.epsilon, run.config.delta, k
        ),
    }


def exercise_3(subjects: Sequence[SubjectCGM]) -> dict[str, float]:
    """問題 3: 要約を平均と標準偏差の 2 つだけにすると、再識別はどうなるか。

    Parameters
    ----------
    subjects : Sequence[SubjectCGM]
        被験者の記録(前半を知る攻撃者が後半を当てる)。

    Returns
    -------
    dict[str, float]
        8 つの要約・2 つの要約での正解の割合と当て推量(1/人数)。
    """
    known, released = zip(*(anonymity.halves(s) for s in subjects))
    two = [
        np.array([[g.mean(), g.std()] for g in part])
        for part in (known, released)
    ]
    guess = anonymity.link_records(*two)
    return {
        "all": anonymity.reidentification_rate(subjects),
        "two": float(np.mean(guess == np.arange(len(subjects)))),
        "chance": 1 / len(subjects),
    }


def report(seed: int = 0, n_seeds: int = 5) -> None:
    """章の主な結果(連合学習・DP-SGD・匿名化)を表示する。

    Parameters
    ----------
    seed : int
        最初のシード(seed から n_seeds 個を使う)。
    n_seeds : int
        シードの数(2 以上)。
    """
    from ..core.claims import claims_summary
    from ..core.notebook import rows_to_markdown

    if n_seeds < 2:
        raise ValueError(f"n_seeds は 2 以上にしてください({n_seeds})")
    subjects = load_hall()
    results = run_experiment(subjects, range(seed, seed + n_seeds))
    for scheme, h in results.hospitals.items():
        print(scheme, {n: len(ids) for n, ids in h.items()})
    for key, pc in compare_main(results).items():
        print(
            key, pc.by_seed and pc.by_seed.verdict_ja, pc.by_patient.verdict_ja
        )
    print(rows_to_markdown(hospital_rows(results)))
    print(rows_to_markdown(dp_rows(results)))
    print("k:", k_by_generalization(subjects))
    print("再識別:", anonymity.reidentification_rate(subjects))
    print("本文の主張の検査:", claims_summary(check_claims(results, subjects)))
