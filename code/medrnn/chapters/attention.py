"""注意機構の章(book/attention.md): 設定・実験・比較・主張の検査・report()。

CGM の章と同じ被験者の分け方・同じ窓(:data:`CHAPTER_SPLIT` などを
そのまま使う)と、複数のバイタルの章と同じ窓で、注意機構を使う 2 つの
モデルを、再帰型モデル・線形モデル・持続予測と比べる。比較はすべて
:mod:`medrnn.core.compare` を通し、本文の向きの言葉は判定から選ぶ。
:func:`check_claims` が確かめるのは、どの機械・どのシードでも成り立つ
はずの事実だけ(式と nn の一致、未来を見ないこと、重みの性質など)。
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import torch
from torch import nn

from ..attention.tasks import (
    ModelFactory,
    TrainedModel,
    cost_row,
    farthest_weights,
    hidden_and_weights,
    layer_gaps,
    masked_weight,
    occlusion_importance,
    output_scores,
    permuted_weights,
    predict_with_weights,
    rank_correlation,
    score_spread,
    train_models,
)
from ..cgm.data import PERIOD_MIN, load_hall
from ..cgm.tasks import CGMData, baseline_forecasts, prepare_cgm
from ..core.claims import claims_summary, failed
from ..core.compare import time_blocks
from ..core.evaluation import mean_std_text
from ..core.models.attention import (
    CausalTransformerRegressor,
    RecurrentAttentionRegressor,
    TransformerConfig,
    future_change,
    sinusoidal_positional_encoding,
)
from ..core.models.nets import ModelConfig, RecurrentRegressor
from ..core.training import TrainConfig
from ..vitals.data import derive_series, load_recording
from ..vitals.tasks import WindowData, persistence_pred, prepare_windows
from ..vitals.tasks import train_model as train_vitals_model
from .cgm import (
    CHAPTER_FORECAST,
    CHAPTER_HIDDEN,
    CHAPTER_SPLIT,
    STEPS,
    PairComparison,
    compare_methods,
    compare_pair,
    overall_verdict,
    run_rmse,
    verdict_words,
)
from .cgm import KEYS as CGM_KEYS
from .cgm import comparison_rows as cgm_comparison_rows
from .vitals import CHAPTER_BLOCK, CHAPTER_STEP_S
from .vitals import CHAPTER_FORECAST as VITALS_FORECAST

# ---- 章の設定(本文とコマンドラインで共通) ----
CHAPTER_SEEDS = (0, 1, 2, 3, 4)
# CGM: CGM の章(最大 12 エポック、バッチ 128)より短い学習。章の実行時間を
# 60 秒に収めるため。GRU もこの設定でこの章で学習し直す
CGM_TRAIN = TrainConfig(epochs=5, batch_size=512, lr=1e-2)
CGM_PATIENCE = 2  # 検証の損失が 2 エポック続けて改善しなければ止める
ATTENTION_SIZE = 16  # 注意プーリングの中間の次元
CGM_TRANSFORMER = TransformerConfig(
    input_size=1, d_model=16, nhead=2, dim_feedforward=32, output_size=12
)
# バイタル: バイタルの章(最大 30 エポック、バッチ 64、我慢 6)より短い学習。
# 学習率は同じ。LSTM もこの設定でこの章で学習し直す
VITALS_TRAIN = TrainConfig(epochs=15, batch_size=128, lr=2e-2)
VITALS_PATIENCE = 5  # 3 では検証損失の上下で早く止まりすぎる(バイタルの章)
VITALS_CHANNELS = (0, 1, 2)  # 心拍数 + 呼吸 + EDA(バイタルの章の "multi")
VITALS_TRANSFORMER = TransformerConfig(
    input_size=3, d_model=16, nhead=2, dim_feedforward=32, output_size=1
)
N_BOOT = 2000  # ブートストラップの回数
N_PERM = 20  # 重みの並べ替えの回数
EPS_MGDL = 1.0  # 「予測がほとんど変わらない」とみなす幅 [mg/dL]
FAR_TV = 0.5  # 「重みが大きく違う」とみなす全変動距離
CHECK_STEP = 6  # 注意の重みを調べる先(6 回 = 30 分先)
CAUSAL_T = 6  # 未来を変える時刻(窓の 7 番目の測定)
SCRATCH_TOL = 1e-4  # 式と nn の差の許容(32 ビットの丸め誤差の数百倍)
D_K = (4, 16, 64, 256)  # √d のスケーリングを調べる次元

CGM_NAMES = ("GRU", "GRU + 注意", "Transformer")  # この章で学習する(CGM)
VITALS_NAMES = ("LSTM", "GRU + 注意", "Transformer")  # (バイタル)
KEYS = {
    **CGM_KEYS,
    "線形": "linear",
    "GRU + 注意": "gruatt",
    "Transformer": "tf",
}  # 方法 → glue の名前(CGM の章の名前に、この章の方法を足す)
CGM_PAIRS = (
    ("GRU + 注意", "GRU"),
    ("Transformer", "GRU"),
    ("GRU", "線形 AR"),
    ("GRU + 注意", "線形 AR"),
    ("Transformer", "線形 AR"),
)
VITALS_PAIRS = (
    ("GRU + 注意", "LSTM"),
    ("Transformer", "LSTM"),
    ("LSTM", "線形"),
    ("GRU + 注意", "線形"),
    ("Transformer", "線形"),
    ("線形", "持続予測"),
)


def cgm_factories(
    hidden_size: int = CHAPTER_HIDDEN,
    transformer: TransformerConfig = CGM_TRANSFORMER,
) -> dict[str, ModelFactory]:
    """CGM の章と同じ 12 個の出力の 3 つのモデル(名前 → 作る関数)。

    Parameters
    ----------
    hidden_size : int
        GRU と GRU + 注意の隠れ状態の次元(CGM の章と同じ)。
    transformer : TransformerConfig
        Transformer の設定(出力は 12 個 = 5〜60 分先)。

    Returns
    -------
    dict[str, ModelFactory]
        "GRU"・"GRU + 注意"・"Transformer" → 引数なしでモデルを作る関数。
    """
    gru = ModelConfig(kind="gru", hidden_size=hidden_size, output_size=12)
    return {
        "GRU": lambda: RecurrentRegressor(gru),
        "GRU + 注意": lambda: RecurrentAttentionRegressor(gru, ATTENTION_SIZE),
        "Transformer": lambda: CausalTransformerRegressor(transformer),
    }


def vitals_factories(
    hidden_size: int = VITALS_FORECAST.hidden_size,
    transformer: TransformerConfig = VITALS_TRANSFORMER,
) -> dict[str, ModelFactory]:
    """バイタルの章の LSTM(3 チャネル)と、注意を使う 2 つのモデル。

    Parameters
    ----------
    hidden_size : int
        LSTM と GRU + 注意の隠れ状態の次元(バイタルの章と同じ)。
    transformer : TransformerConfig
        入力 3 チャネル・出力 1 個の Transformer の設定。

    Returns
    -------
    dict[str, ModelFactory]
        "LSTM"・"GRU + 注意"・"Transformer" → モデルを作る関数。
    """
    n_in = len(VITALS_CHANNELS)
    config = {
        kind: ModelConfig(kind=kind, input_size=n_in, hidden_size=hidden_size)
        for kind in ("lstm", "gru")
    }
    return {
        "LSTM": lambda: RecurrentRegressor(config["lstm"]),
        "GRU + 注意": lambda: RecurrentAttentionRegressor(
            config["gru"], ATTENTION_SIZE
        ),
        "Transformer": lambda: CausalTransformerRegressor(transformer),
    }


@dataclass(frozen=True)
class TaskSetup:
    """1 つの課題の学習の設定: 学習・早期終了の我慢・作るモデル。"""

    train: TrainConfig
    patience: int
    factories: dict[str, ModelFactory]


CGM_SETUP = TaskSetup(CGM_TRAIN, CGM_PATIENCE, cgm_factories())
VITALS_SETUP = TaskSetup(VITALS_TRAIN, VITALS_PATIENCE, vitals_factories())


@dataclass
class TaskResults:
    """1 つの課題の、全方法のテストの予測と、学習したモデル。"""

    unit: str  # 誤差の単位("mg/dL"・"bpm")
    target: np.ndarray  # テストの正解。形状 (N, n_out)
    groups: np.ndarray  # ブートストラップのまとまり(患者・ブロック) (N,)
    group_name: str  # まとまりの呼び名("患者"・"ブロック")
    baselines: dict[str, np.ndarray]  # 方法 → 予測 (N, n_out)
    runs: dict[str, list[TrainedModel]]  # モデル → シードの順の学習
    predictions: dict[str, np.ndarray] = field(default_factory=dict)

    def preds(self, name: str) -> np.ndarray:
        """方法 name のテストの予測(元の単位)。

        Parameters
        ----------
        name : str
            基準法か学習したモデルの名前。

        Returns
        -------
        np.ndarray
            形状 (n_runs, N, n_out)(シードによらない方法は n_runs=1)
        """
        if name in self.baselines:
            return self.baselines[name][None]
        return self.predictions[name]


def in_units(
    runs: dict[str, list[TrainedModel]],
    to_unit: Callable[[np.ndarray], np.ndarray],
) -> dict[str, np.ndarray]:
    """各モデルのシードごとのテストの予測を元の単位に戻して積む。

    Parameters
    ----------
    runs : dict[str, list[TrainedModel]]
        モデル → シードの順の学習(予測は標準化した単位 (N, n_out))。
    to_unit : Callable[[np.ndarray], np.ndarray]
        標準化した値を元の単位(mg/dL・bpm)に戻す関数。

    Returns
    -------
    dict[str, np.ndarray]
        モデル → 予測。形状 (n_seeds, N, n_out)
    """
    return {
        name: np.stack([to_unit(r.test_pred_z) for r in group])
        for name, group in runs.items()
    }


def run_cgm(
    data: CGMData,
    seeds: Sequence[int] = CHAPTER_SEEDS,
    setup: TaskSetup = CGM_SETUP,
) -> TaskResults:
    """CGM の章の窓で、3 つのモデルをシードごとに学習し、基準法と並べる。

    Parameters
    ----------
    data : CGMData
        CGM の章と同じ分け方・同じ窓のデータ。
    seeds : Sequence[int]
        各モデルを学習するシード。
    setup : TaskSetup
        学習の設定・早期終了の我慢・作るモデル。

    Returns
    -------
    TaskResults
        単位 mg/dL、まとまりは患者。予測は形状 (n_seeds, N, 12)。
    """
    X = {g: data.inputs(g) for g in ("train", "val", "test")}
    y = {g: data.targets(g) for g in ("train", "val")}
    runs = train_models(
        setup.factories, X, y, seeds, setup.train, setup.patience
    )
    test = data.windows["test"]
    return TaskResults(
        "mg/dL",
        test.Y,
        test.subject,
        "患者",
        baseline_forecasts(data),
        runs,
        in_units(runs, data.to_mgdl),
    )


def load_vitals() -> WindowData:
    """バイタルの章と同じ 3 チャネルの窓(欠測なし)。

    Returns
    -------
    WindowData
        心拍数・呼吸・EDA の窓と、学習・検証・テストへの時間順の分割。
    """
    series = derive_series(load_recording(), CHAPTER_STEP_S)
    return prepare_windows(series, VITALS_FORECAST, channels=VITALS_CHANNELS)


def run_vitals(
    data: WindowData,
    seeds: Sequence[int] = CHAPTER_SEEDS,
    setup: TaskSetup = VITALS_SETUP,
) -> TaskResults:
    """バイタルの章の窓で、3 つのモデルを学習し、線形・持続予測と並べる。
    線形モデルはシードによらないので、シード 0 で 1 回だけ学習する。

    Parameters
    ----------
    data : WindowData
        :func:`load_vitals` の窓。
    seeds : Sequence[int]
        3 つのモデルのシード。
    setup : TaskSetup
        学習の設定・早期終了の我慢(線形モデルにも渡す)・作るモデル。

    Returns
    -------
    TaskResults
        単位 bpm、まとまりは時間のブロック。予測は形状 (n_runs, N, 1)。
    """
    linear = train_vitals_model(
        "linear",
        data,
        0,
        setup.train,
        VITALS_FORECAST.hidden_size,
        setup.patience,
    )
    runs = train_models(
        setup.factories, data.X, data.y, seeds, setup.train, setup.patience
    )
    return TaskResults(
        "bpm",
        data.target_bpm("test")[:, None],
        time_blocks(len(data.ends["test"]), CHAPTER_BLOCK),
        "ブロック",
        {
            "持続予測": data.to_bpm(persistence_pred(data))[:, None],
            "線形": linear.test_pred_bpm[:, None],
        },
        runs,
        in_units(runs, data.to_bpm),
    )


def compare_all(
    res: TaskResults,
    pairs: Sequence[tuple[str, str]],
    steps: Sequence[int] = (1,),
) -> dict[tuple[str, str, int], PairComparison]:
    """pairs のすべてを、各先 steps で比べる(CGM の章の compare_methods)。

    Parameters
    ----------
    res : TaskResults
        :func:`run_cgm` か :func:`run_vitals` の結果。
    pairs : Sequence[tuple[str, str]]
        比べる方法の組 (A, B)。差は A − B。
    steps : Sequence[int]
        比べる先(何回先か)。

    Returns
    -------
    dict[tuple[str, str, int], PairComparison]
        (A, B, 先) → シードとまとまりのブートストラップの比較。
    """
    return compare_methods(res, steps, pairs)


def comparison_rows(
    comparisons: dict[tuple[str, str, int], PairComparison],
    minutes_per_step: float | None = None,
) -> list[dict[str, str]]:
    """表の行: CGM の章の :func:`medrnn.chapters.cgm.comparison_rows` と同じ列
    (勝った数の列は「A が良かった数」、シードの比較がなければ "—")。

    Parameters
    ----------
    comparisons : dict[tuple[str, str, int], PairComparison]
        :func:`compare_all` の結果。
    minutes_per_step : float or None
        1 回先の時間 [分](None なら列の名前に分を書かない)。

    Returns
    -------
    list[dict[str, str]]
        比較ごとの表の行(列の名前 → 文字列)。
    """
    return cgm_comparison_rows(
        comparisons, minutes_per_step, wins="A が良かった数", no_seed="—"
    )


def glue_key(task: str, a: str, b: str, step: int) -> str:
    """比較の glue の名前の元(例: ``att_cgm_gruatt_gru_6``)。

    Parameters
    ----------
    task : str
        課題の短い名前("cgm"・"vitals")。
    a, b : str
        比べる方法の名前(:data:`KEYS` にあるもの)。差は a − b。
    step : int
        何回先の比較か。

    Returns
    -------
    str
        ``att_{task}_{a の短い名前}_{b の短い名前}_{step}``
    """
    return f"att_{task}_{KEYS[a]}_{KEYS[b]}_{step}"


def direction_words(
    task: str, comparisons: dict[tuple[str, str, int], PairComparison]
) -> dict[str, str]:
    """本文に glue する向きの言葉: ``{key}_dir``(両方の判定がそろったとき
    だけ向きを言う)。key は :func:`glue_key`。

    Parameters
    ----------
    task : str
        glue の名前に入れる課題の名前。
    comparisons : dict[tuple[str, str, int], PairComparison]
        (A, B, 先) → 比較(:func:`compare_all`)。

    Returns
    -------
    dict[str, str]
        glue の名前 → 向きの言葉。
    """
    return {
        f"{glue_key(task, a, b, s)}_dir": verdict_words(overall_verdict(pc), b)
        for (a, b, s), pc in comparisons.items()
    }


def result_rows(
    res: TaskResults, steps: Sequence[int], minutes_per_step: float | None
) -> list[dict[str, str]]:
    """表の行: 方法ごとのテスト RMSE(シードの平均 ± 標準偏差)と学習の手間。

    Parameters
    ----------
    res : TaskResults
        基準法と学習したモデルの予測。
    steps : Sequence[int]
        RMSE の列を作る先(何回先か)。
    minutes_per_step : float or None
        1 回先の時間 [分]。None なら列の名前は "RMSE" だけ。

    Returns
    -------
    list[dict[str, str]]
        方法ごとの行(RMSE は res.unit の単位、学習の秒は [s])。
    """
    rows = []
    for name in (*res.baselines, *res.runs):
        row = {"方法": name}
        for s in steps:
            r = run_rmse(res, name, s)
            col = (
                f"RMSE {s * minutes_per_step:.0f} 分"
                if minutes_per_step
                else "RMSE"
            )
            row[col] = mean_std_text(r, digits=2)
        cost = (
            cost_row(name, res.runs[name])
            if name in res.runs
            else {"パラメータ数": "—", "学習 [s]": "—", "エポック": "—"}
        )
        rows.append(row | {k: v for k, v in cost.items() if k != "モデル"})
    return rows


# ---- 注意の重みは何を意味するか(CGM の GRU + 注意) ----


@dataclass(frozen=True)
class WeightChecks:
    """GRU + 注意の重みの検査の結果(テストの全窓、30 分先)。"""

    alpha: np.ndarray  # モデルの重み (N, T)(最初のシード)
    reproduce_gap: float  # 重みを差し替える関数で元の予測が出るか [mg/dL]
    perm_change: np.ndarray  # 並べ替えでの予測の変化の中央値 [mg/dL] (N,)
    adv_weights: np.ndarray  # 予測を ±ε に保つ、最も遠い重み (N, T)
    adv_tv: np.ndarray  # その全変動距離 (N,)
    adv_change: np.ndarray  # そのときの予測の変化 [mg/dL] (N,)
    occlusion_rho: np.ndarray  # 重みと介入の重要度の順位相関 (N,)
    top_agree: float  # 重みの最大と介入の重要度の最大が同じ時刻の割合
    both_last: float  # 両方の最大が最後の時刻だった窓の割合
    uniform: PairComparison  # 学習した重み − 一様な重み(全シード)


def uniform_predictions(
    res: TaskResults, data: CGMData, name: str = "GRU + 注意"
) -> np.ndarray:
    """重みを一様(1/T)にしたときの予測 [mg/dL]。

    Parameters
    ----------
    res : TaskResults
        CGM の学習の結果(name のモデルは再帰層 + 注意プーリング)。
    data : CGMData
        テストの窓と、mg/dL に戻す変換。
    name : str
        重みを一様にするモデルの名前。

    Returns
    -------
    np.ndarray
        シードごとの予測。形状 (n_runs, N, n_out)
    """
    X = data.inputs("test")
    out = []
    for run in res.runs[name]:
        model = cast(RecurrentAttentionRegressor, run.model)
        h, alpha = hidden_and_weights(model, X)
        flat = torch.full_like(alpha, 1.0 / alpha.shape[1])
        z = predict_with_weights(model, h, flat)
        out.append(data.to_mgdl(z))
    return np.stack(out)


def check_weights(
    res: TaskResults, data: CGMData, step: int = CHECK_STEP
) -> WeightChecks:
    """注意の重みの 4 つの検査(並べ替え・一様・最も遠い重み・介入)。

    Parameters
    ----------
    res : TaskResults
        :func:`run_cgm` の結果("GRU + 注意" の最初のシードを調べる)。
    data : CGMData
        テストの窓(N 個)と単位の変換。
    step : int
        調べる先(何回先か。既定は 6 回 = 30 分先)。

    Returns
    -------
    WeightChecks
        重み (N, T)、窓ごとの値 (N,) と、一様な重みとの比較。
    """
    model = cast(RecurrentAttentionRegressor, res.runs["GRU + 注意"][0].model)
    X = data.inputs("test")
    h, alpha = hidden_and_weights(model, X)
    own = data.to_mgdl(predict_with_weights(model, h, alpha))[:, step - 1]
    direct = data.to_mgdl(res.runs["GRU + 注意"][0].test_pred_z)  # forward
    reproduce = float(np.abs(own - direct[:, step - 1]).max())
    perms = permuted_weights(alpha, N_PERM)
    change = np.stack(
        [
            data.to_mgdl(predict_with_weights(model, h, p))[:, step - 1] - own
            for p in perms
        ]
    )
    s = output_scores(model, h, step)
    a = alpha.numpy().astype(np.float64)
    beta, tv = farthest_weights(a, s, EPS_MGDL / data.std)
    adv_change = data.std * np.abs(np.sum((beta - a) * s, axis=1))
    imp = occlusion_importance(model, X, step)
    last = a.shape[1] - 1  # 最後の時刻
    runs = res.runs["GRU + 注意"]
    uniform = TaskResults(
        res.unit,
        res.target,
        res.groups,
        res.group_name,
        {},
        {"GRU + 注意": runs, "一様な重み": runs},
        {
            "GRU + 注意": res.preds("GRU + 注意"),
            "一様な重み": uniform_predictions(res, data),
        },
    )
    return WeightChecks(
        a,
        reproduce,
        np.median(np.abs(change), axis=0),
        beta,
        tv,
        adv_change,
        rank_correlation(a, imp),
        float(np.mean(a.argmax(1) == imp.argmax(1))),
        float(np.mean((a.argmax(1) == last) & (imp.argmax(1) == last))),
        compare_pair(uniform, "GRU + 注意", "一様な重み", step),
    )


def permutation_words(change: np.ndarray, eps: float = EPS_MGDL) -> str:
    """並べ替えの結果の言葉: 予測の変化が eps 以上の窓が半分を超えるか。

    Parameters
    ----------
    change : np.ndarray
        窓ごとの予測の変化の中央値 [mg/dL]。形状 (N,)
    eps : float
        「予測が動いた」とみなす幅 [mg/dL]。

    Returns
    -------
    str
        本文に入れる 1 文。
    """
    if np.mean(np.asarray(change) >= eps) > 0.5:
        return "このモデルでは、重みをどこに置くかは多くの窓で予測を動かします"
    return "このモデルでは、重みの置き場所を変えても予測はあまり動きません"


def example_windows(data: CGMData, step: int = CHECK_STEP) -> np.ndarray:
    """図に使うテストの窓: 最後の 30 分で最も上がった・下がった・平らな窓。

    Parameters
    ----------
    data : CGMData
        テストの窓(血糖値 [mg/dL] の X)を使う。
    step : int
        変化を測る時間(回。既定の 6 回 = 30 分)。

    Returns
    -------
    np.ndarray
        上がった・下がった・平らな窓の番号。形状 (3,)
    """
    X = data.windows["test"].X
    change = X[:, -1] - X[:, -1 - step]  # 最後の 30 分の変化 [mg/dL]
    spread = X.max(1) - X.min(1)  # 窓の中の幅 [mg/dL]
    return np.array([np.argmax(change), np.argmin(change), np.argmin(spread)])


def transformer_weights(res: TaskResults, data: CGMData) -> np.ndarray:
    """CGM の Transformer(最初のシード)の、テストの窓とヘッドで平均した
    最初の層の注意の重み。

    Parameters
    ----------
    res : TaskResults
        :func:`run_cgm` の結果。
    data : CGMData
        重みを求めるテストの窓。

    Returns
    -------
    np.ndarray
        形状 (T, T)(行 = 見る位置、列 = 見られる位置)
    """
    model = cast(CausalTransformerRegressor, res.runs["Transformer"][0].model)
    model.eval()
    with torch.no_grad():
        w = model.attention_weights(data.inputs("test"))  # (L, N, heads, T, T)
    return w[0].mean(dim=(0, 1)).numpy()


def causality_gaps(res: TaskResults, data: CGMData) -> dict[str, float]:
    """学習した Transformer で時刻 CAUSAL_T の入力を変えたとき、それより前の
    位置の出力が動いた最大の幅(マスクあり・なし)。

    Parameters
    ----------
    res : TaskResults
        :func:`run_cgm` の結果(最初のシードの Transformer を使う)。
    data : CGMData
        テストの窓(最初の 512 窓を使う)。

    Returns
    -------
    dict[str, float]
        "causal"(マスクあり)と "no_mask"(なし)の、エンコーダの出力の幅。
    """
    model = cast(CausalTransformerRegressor, res.runs["Transformer"][0].model)
    model.eval()
    X = data.inputs("test")[:512]
    return {
        "causal": future_change(model.encode, X, CAUSAL_T),
        "no_mask": future_change(
            lambda x: model.encode(x, causal=False), X, CAUSAL_T
        ),
    }


def scaling_table(d_values: Sequence[int] = D_K) -> list[dict[str, str]]:
    """√d で割る前と後の、スコアの標準偏差と softmax の最大の重みの平均。

    Parameters
    ----------
    d_values : Sequence[int]
        調べる次元 d_k の並び。

    Returns
    -------
    list[dict[str, str]]
        d_k ごとの表の行(値は小数 2 桁の文字列)。
    """
    rows = []
    for d in d_values:
        (sd_raw, top_raw), (sd, top) = (
            score_spread(d, s) for s in (False, True)
        )
        rows.append(
            {
                "d_k": str(d),
                "q·k の標準偏差": f"{sd_raw:.2f}",
                "最大の重み(割らない)": f"{top_raw:.2f}",
                "q·k/√d_k の標準偏差": f"{sd:.2f}",
                "最大の重み(割る)": f"{top:.2f}",
            }
        )
    return rows


# ---- 練習問題 ----


def exercise_1(d_k: int = 64) -> dict[str, float]:
    """d_k 次元で、√d_k で割らないと softmax の重みはどこまで偏るか。

    Parameters
    ----------
    d_k : int
        q と k の次元。

    Returns
    -------
    dict[str, float]
        割らない・割るときのスコアの標準偏差 "sd_raw"・"sd" と、
        最大の重みの平均 "top_raw"・"top"。
    """
    sd_raw, top_raw = score_spread(d_k, scaled=False)
    sd, top = score_spread(d_k, scaled=True)
    return {"sd_raw": sd_raw, "top_raw": top_raw, "sd": sd, "top": top}


def exercise_2(seq_len: int = 12, d_model: int = 16) -> dict[str, float]:
    """マスクのない層で、前の時刻の並べ替えが最後の位置の出力を変えるか。

    Parameters
    ----------
    seq_len, d_model : 窓の長さと、各位置のベクトルの次元

    Returns
    -------
    "without_pe"(位置エンコーディングなし: ≈ 0)と "with_pe"(あり: > 0)
    """
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(
        d_model, 2, 32, dropout=0.0, batch_first=True
    ).eval()
    x = torch.randn(4, seq_len, d_model)  # (B, T, d)
    last = torch.tensor([seq_len - 1])  # 最後の時刻はそのまま
    order = torch.cat([torch.randperm(seq_len - 1), last])  # 前を並べ替え
    pe = sinusoidal_positional_encoding(seq_len, d_model)  # (T, d)
    change = {}
    with torch.no_grad():
        for name, p in (("without_pe", 0 * pe), ("with_pe", pe)):
            out, shuffled = layer(x + p), layer(x[:, order] + p)
            change[name] = float((out - shuffled)[:, -1].abs().max())
    return change


def exercise_3(alpha: np.ndarray) -> dict[str, float]:
    """GRU + 注意の重みは最後の時刻にどれだけ集まるか。

    Parameters
    ----------
    alpha : np.ndarray
        窓ごとの注意の重み α。形状 (N, T)

    Returns
    -------
    dict[str, float]
        最後の時刻の重みの平均 "last_mean"、最後の時刻で重みが最大の
        窓の割合 "last_top"、一様な重み 1/T "uniform"。
    """
    a = np.asarray(alpha)
    return {
        "last_mean": float(a[:, -1].mean()),
        "last_top": float(np.mean(a.argmax(1) == a.shape[1] - 1)),
        "uniform": 1.0 / a.shape[1],
    }


# ---- 主張の検査 ----


@dataclass(frozen=True)
class StructuralFacts:
    """どの機械・どのシードでも成り立つはずの値。"""

    gaps: dict[str, float]  # 式と nn の差(layer_gaps)
    masked: float  # 未来に付いた重みの最大値(masked_weight)
    causal: dict[str, float]  # causality_gaps
    tf_upper: float  # 学習した Transformer の未来への重みの最大値
    order: dict[str, float]  # 並べ替えでの最後の出力の変化(exercise_2)


def structural_facts(res: TaskResults, data: CGMData) -> StructuralFacts:
    """主張の検査に使う値をまとめて計算する。

    Parameters
    ----------
    res : TaskResults
        :func:`run_cgm` の結果(学習した Transformer を調べる)。
    data : CGMData
        テストの窓。

    Returns
    -------
    StructuralFacts
        式と nn の差・マスクの重み・未来を見ないか・並べ替えの変化。
    """
    w = transformer_weights(res, data)
    return StructuralFacts(
        layer_gaps(),
        masked_weight(),
        causality_gaps(res, data),
        float(np.triu(w, 1).max()),
        exercise_2(),
    )


def check_claims(
    facts: StructuralFacts,
    checks: WeightChecks,
    cgm: TaskResults,
    cgm_data: CGMData,
) -> list[str]:
    """本文の頑健な主張のうち、成り立たないものの文を返す。

    Parameters
    ----------
    facts : StructuralFacts
        :func:`structural_facts` の値。
    checks : WeightChecks
        :func:`check_weights` の結果。
    cgm : TaskResults
        :func:`run_cgm` の結果(RMSE の大小とテストの患者を確かめる)。
    cgm_data : CGMData
        CGM の章の分け方(テストの患者の ID)。

    Returns
    -------
    list[str]
        成り立たなかった主張の文(すべて成り立てば空)。
    """
    alpha = checks.alpha
    test_ids = set(cgm_data.groups["test"])
    claims = {
        "式から書いたエンコーダ層と nn.TransformerEncoderLayer の出力・勾配が"
        f" {SCRATCH_TOL:g} 以内で一致する": (
            max(facts.gaps.values()) <= SCRATCH_TOL
        ),
        "因果マスクを付けると、未来の位置への重みはちょうど 0": (
            facts.masked == 0.0 and facts.tf_upper == 0.0
        ),
        (
            "学習した Transformer は、未来の入力を変えても"
            "前の位置の出力が変わらない"
        ): (facts.causal["causal"] <= 1e-6),
        "マスクを外すと、未来の入力で前の位置の出力が変わる(検査に力がある)": (
            facts.causal["no_mask"] > 1e-3
        ),
        (
            "位置エンコーディングもマスクもなければ、前の時刻を並べ替えても"
            "最後の位置の出力は変わらず、位置エンコーディングがあると変わる"
        ): facts.order["without_pe"] <= 1e-5 < 1e-3 < facts.order["with_pe"],
        "注意の重みは窓ごとに 0 以上で、和が 1": (
            bool(np.all(alpha >= 0))
            and bool(np.allclose(alpha.sum(1), 1.0, atol=1e-5))
        ),
        "重みを差し替える関数に元の重みを渡すと、元の予測が出る": (
            checks.reproduce_gap <= 1e-3
        ),
        f"最も遠い重みでも、予測の変化は {EPS_MGDL:g} mg/dL 以内": (
            bool(np.all(checks.adv_change <= EPS_MGDL + 1e-6))
            and bool(
                np.all((checks.adv_tv >= 0) & (checks.adv_tv <= 1 + 1e-6))
            )
        ),
        "テストの窓は、CGM の章のテストの 5 人の記録だけから作られている": (
            set(cgm.groups) <= test_ids and len(test_ids) == 5
        ),
        "どのモデル・どのシードでも、60 分先の RMSE は 30 分先より大きい": all(
            np.all(run_rmse(cgm, n, 12) > run_rmse(cgm, n, 6))
            for n in cgm.runs
        ),
    }
    return failed(claims)


def report(seed: int = 0, n_seeds: int = 5) -> None:
    """章の主な結果(式と nn の一致、2 つの課題の比較、重みの検査)を表示する。

    シード seed, seed + 1, ..., seed + n_seeds − 1 で各モデルを学習する。

    Parameters
    ----------
    seed : int
        最初のシード。
    n_seeds : int
        シードの数(2 以上。シードの比較に要る)。
    """
    from ..core.notebook import rows_to_markdown

    if n_seeds < 2:
        raise ValueError(f"n_seeds は 2 以上にしてください({n_seeds})")
    seeds = range(seed, seed + n_seeds)
    print("式と nn の差:", layer_gaps())
    data = prepare_cgm(load_hall(), CHAPTER_SPLIT, CHAPTER_FORECAST)
    cgm = run_cgm(data, seeds)
    print(rows_to_markdown(result_rows(cgm, STEPS, PERIOD_MIN)))
    print(
        rows_to_markdown(
            comparison_rows(compare_all(cgm, CGM_PAIRS, STEPS), PERIOD_MIN)
        )
    )
    vitals = run_vitals(load_vitals(), seeds)
    print(rows_to_markdown(result_rows(vitals, (1,), None)))
    print(rows_to_markdown(comparison_rows(compare_all(vitals, VITALS_PAIRS))))
    checks = check_weights(cgm, data)
    print(
        "並べ替えの予測の変化(中央値):"
        f" {np.median(checks.perm_change):.2f} mg/dL、"
        f"TV ≥ {FAR_TV} の重みが見つかった窓:"
        f" {np.mean(checks.adv_tv >= FAR_TV):.0%}"
    )
    facts = structural_facts(cgm, data)
    print(
        "本文の主張の検査:",
        claims_summary(check_claims(facts, checks, cgm, data)),
    )
