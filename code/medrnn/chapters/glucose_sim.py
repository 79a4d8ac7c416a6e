"""シミュレータの章(book/glucose_sim.md)の設定・比較・主張の検査・報告。

章の本文はここの関数を呼んで、表と glue する値を作る。手法や入力の組の
優劣の向きは :mod:`medrnn.core.compare` の判定から言葉を選び、ここでは
確かめない。比べ方は 2 通り:

- テストの 3 人の同じ窓での比較(:func:`compare_pairs`): 患者ごとにまとめて
  復元抽出する。GRU の誤差は 5 シードの平均をとる。
- シードで対応する比較(:func:`seed_comparisons`): 同じシードで学習した
  2 つの GRU(入力の組や入力の表し方が違う)の RMSE の差。

:func:`check_claims` が確かめるのは、どの機械・どのシードでも成り立つ事実
(固定した乱数で作った仮想患者のデータの性質、乱数を使わない線形モデルと
持続予測の性質、食事を知らないモデルが食後すぐに大きく外れることなど)だけ。
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from ..core.claims import claims_summary, failed
from ..core.compare import (
    Comparison,
    compare_predictions,
    compare_seeds,
    comparison_row,
    describe,
    phrase,
)
from ..core.evaluation import LinearAR, mean_std_text, rmse
from ..core.training import TrainConfig
from ..glucose_sim.tasks import (
    INPUT_NAMES,
    INPUT_SETS,
    SEGMENTS,
    Cohort,
    CohortConfig,
    PatientSplit,
    SimForecastConfig,
    SimForecastData,
    SimForecastRun,
    SimTraining,
    minutes_from_meal,
    rmse_by_bin,
)
from ..glucose_sim.tasks import Comparison as InputComparison

CHAPTER_COHORT = CohortConfig(group="adult", n_days=4, sample_min=5, seed=0)
CHAPTER_SPLIT = PatientSplit(
    train=tuple(f"adult#{k:03d}" for k in range(1, 7)),  # 6 人で学習
    val=("adult#007",),  # 1 人で早期終了と設定の選択
    test=("adult#008", "adult#009", "adult#010"),
)  # 3 人で評価
CHAPTER_FORECAST = SimForecastConfig(
    seq_len=24,
    horizon=6,  # 2 時間 → 30 分先
    train_stride=2,
)
CHAPTER_HORIZONS = (3, 6, 9, 12)  # 15・30・45・60 分先(点の数)
# 学習率・エポック数・我慢するエポック数は、検証の患者 adult#007 の RMSE だけで
# いくつかの候補から選んだ(テストの患者は見ていない)
CHAPTER_TRAIN = TrainConfig(epochs=16, batch_size=128, lr=3e-3)
CHAPTER_PATIENCE = 3  # 検証の損失がこのエポック数続けて改善しなければ止める
CHAPTER_KIND = "gru"
CHAPTER_SEEDS = (0, 1, 2, 3, 4)  # GRU を学習するシード
MEAL_BIN_EDGES = np.arange(-60, 241, 20)  # 食事からの時間の区切り [min]
AFTER_MEAL_MIN = (0, 40)  # 「食べ始めてすぐ」の予測の時点 [min]
BEFORE_MEAL_MIN = (-60, 0)  # 「食事の前」の予測の時点 [min]
HYPO_MG = 70.0  # 低血糖の境目 [mg/dL]
N_LARGEST = 10  # 「大きな外れ」として調べる窓の数

LABELS = {
    "persist": "持続予測",
    "linear_glucose": "線形・血糖のみ",
    "linear_multi": "線形・3 チャネル",
    "gru_glucose": "GRU・血糖のみ",
    "gru_multi": "GRU・3 チャネル",
}  # 表と本文での方法の名前
WINDOWS = {
    "all": "すべて",
    "nohypo": "低血糖を除く",
    "after": "食後 0〜40 分",
    "other": "食後 0〜40 分以外",
    "before": "食前 60 分以内",
}  # 比べる窓の選び方


@dataclass(frozen=True)
class PairSpec:
    """テスト窓での比較 1 つ: A − B を、どの窓で、どの指標で比べるか。"""

    a: str  # LABELS のキー
    b: str  # LABELS のキー
    windows: str = "all"  # WINDOWS のキー
    metric: str = "rmse"  # "rmse" か "mae"


MAIN_PAIRS = {
    "lin_inputs": PairSpec("linear_multi", "linear_glucose"),
    "gru_inputs": PairSpec("gru_multi", "gru_glucose"),
    "lin_persist": PairSpec("linear_glucose", "persist"),
    "gru_lin_g": PairSpec("gru_glucose", "linear_glucose"),
    "gru_lin_m": PairSpec("gru_multi", "linear_multi"),
    "gru_lin_g_mae": PairSpec("gru_glucose", "linear_glucose", metric="mae"),
    "gru_lin_m_mae": PairSpec("gru_multi", "linear_multi", metric="mae"),
    "gru_lin_g_nohypo": PairSpec("gru_glucose", "linear_glucose", "nohypo"),
    "gru_lin_m_nohypo": PairSpec("gru_multi", "linear_multi", "nohypo"),
}
MEAL_PAIRS = {
    f"{w}_{m}": PairSpec(f"{m}_multi", f"{m}_glucose", w)
    for w in ("after", "other", "before")
    for m in ("linear", "gru")
}


def test_errors(comp: InputComparison) -> dict[str, np.ndarray]:
    """方法ごとのテストの誤差(予測 − 正解)[mg/dL]。

    Parameters
    ----------
    comp : InputComparison
        2 つの入力の組での予測と学習結果(:func:`compare_chapter_inputs`)。

    Returns
    -------
    dict[str, np.ndarray]
        LABELS のキー → 形状 (n_runs, N_test)。線形と持続予測は乱数を
        使わないので 1 行、GRU はシードごとの行。
    """
    target = comp.target_mg()
    out = {"persist": comp.baselines["glucose"]["持続予測"][None] - target}
    for inputs in INPUT_SETS:
        out[f"linear_{inputs}"] = comp.baselines[inputs]["線形"][None] - target
        out[f"gru_{inputs}"] = (
            np.stack([r.test_pred_mg for r in comp.runs[inputs]]) - target
        )
    return out


def meal_offsets(
    cohort: Cohort, comp: InputComparison, horizon: int
) -> np.ndarray:
    """テストの各窓の、予測の時点から見たいちばん近い食事までの時間 [min]。

    予測の時点は窓の最後(正解の位置 − horizon)。

    Parameters
    ----------
    cohort : Cohort
        食事の記録を持つシミュレーションの結果。
    comp : InputComparison
        窓の患者と正解の位置を取り出す比較("glucose" の窓を使う)。
    horizon : int
        予測先(点の数)。

    Returns
    -------
    np.ndarray
        正なら食後、負なら食前の時間 [min]。形状 (N_test,)
    """
    data = comp.data["glucose"]
    return minutes_from_meal(
        cohort, data.rows["test"], data.target_index["test"] - horizon
    )


def window_masks(
    target: np.ndarray, offset: np.ndarray
) -> dict[str, np.ndarray]:
    """WINDOWS の窓の選び方ごとの、テストの窓の印。各形状 (N_test,)

    Parameters
    ----------
    target : np.ndarray
        テストの正解 [mg/dL]。形状 (N_test,)
    offset : np.ndarray
        :func:`meal_offsets` の食事からの時間 [min]。形状 (N_test,)

    Returns
    -------
    dict[str, np.ndarray]
        WINDOWS のキー → bool の印。形状 (N_test,)
    """
    after = (offset >= AFTER_MEAL_MIN[0]) & (offset < AFTER_MEAL_MIN[1])
    before = (offset >= BEFORE_MEAL_MIN[0]) & (offset < BEFORE_MEAL_MIN[1])
    return {
        "all": np.ones(len(target), dtype=bool),
        "nohypo": target >= HYPO_MG,
        "after": after,
        "other": ~after,
        "before": before,
    }


def compare_pairs(
    errors: Mapping[str, np.ndarray],
    groups: np.ndarray,
    masks: Mapping[str, np.ndarray],
    pairs: Mapping[str, PairSpec],
) -> dict[str, Comparison]:
    """テストの同じ窓で 2 つの方法を比べる(患者ごとのブートストラップ)。

    Parameters
    ----------
    errors : dict[str, np.ndarray]
        :func:`test_errors` の結果。各形状 (n_runs, N_test)
    groups : 形状 (N_test,)
        各窓の患者。
    masks : dict[str, np.ndarray]
        :func:`window_masks` の結果。
    pairs : dict[str, PairSpec]
        比較の名前 → 何を比べるか。

    Returns
    -------
    dict[str, Comparison]
        比較の名前 → A − B の差・区間・判定(小さいほど良い)。
    """
    out = {}
    for key, spec in pairs.items():
        sel = masks[spec.windows]
        out[key] = compare_predictions(
            errors[spec.a][:, sel],
            errors[spec.b][:, sel],
            groups[sel],
            names=(LABELS[spec.a], LABELS[spec.b]),
            metric=spec.metric,
        )
    return out


def run_rmse(
    runs: Sequence[SimForecastRun],
    target: Mapping[str, np.ndarray],
    segment: str,
) -> list[float]:
    """シードごとの、ある区間での RMSE [mg/dL]。

    Parameters
    ----------
    runs : Sequence[SimForecastRun]
        シードごとの学習結果。
    target : Mapping[str, np.ndarray]
        区間 → 正解 [mg/dL]。形状 (N,)
    segment : str
        "train"・"val"・"test" のどれか。

    Returns
    -------
    list[float]
        runs の順の RMSE。長さ (n_seeds,)
    """
    return [
        rmse(getattr(r, f"{segment}_pred_mg"), target[segment]) for r in runs
    ]


def seed_comparisons(comp: InputComparison) -> dict[str, Comparison]:
    """同じシードで学習した 2 つの GRU(血糖のみ・3 チャネル)のテスト RMSE。

    Parameters
    ----------
    comp : InputComparison
        入力の組ごとに、同じシードの並びで学習した結果。

    Returns
    -------
    dict[str, Comparison]
        "gru_inputs_seeds" → 3 チャネル − 血糖のみ(シードで対応する t 区間)。
    """
    test = {
        i: run_rmse(comp.runs[i], comp.data[i].target_mg, "test")
        for i in INPUT_SETS
    }
    return {
        "gru_inputs_seeds": compare_seeds(
            test["multi"],
            test["glucose"],
            (LABELS["gru_multi"], LABELS["gru_glucose"]),
        )
    }


FIT_NAMES = {
    "linear": "線形",
    "raw": "GRU(標準化だけ)",
    "gru": "GRU(並べ直し)",
}  # 当てはまりの表の列


def fit_rmse(
    data: SimForecastData,
    linear: LinearAR,
    raw: Sequence[SimForecastRun],
    runs: Sequence[SimForecastRun],
) -> dict[str, dict[str, list[float]]]:
    """訓練の窓と検証の患者での RMSE [mg/dL](当てはまりの確認)。

    Parameters
    ----------
    data : SimForecastData
        窓と正解(3 チャネルの入力)。
    linear : LinearAR
        data の訓練の窓で当てはめた線形モデル。
    raw : Sequence[SimForecastRun]
        標準化だけの入力で学習した GRU(シードごと)。
    runs : Sequence[SimForecastRun]
        並べ直した入力で学習した GRU(raw と同じシードの順)。

    Returns
    -------
    dict[str, dict[str, list[float]]]
        区間("train"・"val")→ FIT_NAMES のキー → シード順の RMSE。
        線形モデルは乱数を使わないので、同じ値をシードの数だけ並べる。
    """
    out = {}
    for seg in ("train", "val"):
        lin = rmse(
            data.to_mg(linear.predict(data.X[seg]), seg), data.target_mg[seg]
        )
        out[seg] = {
            "linear": [lin] * len(runs),
            "raw": run_rmse(raw, data.target_mg, seg),
            "gru": run_rmse(runs, data.target_mg, seg),
        }
    return out


def fit_rows(
    fit: Mapping[str, Mapping[str, Sequence[float]]],
) -> list[dict[str, str]]:
    """当てはまりの表の行(区間ごとの RMSE の平均 ± 標準偏差)。

    Parameters
    ----------
    fit : Mapping[str, Mapping[str, Sequence[float]]]
        :func:`fit_rmse` の結果。

    Returns
    -------
    list[dict[str, str]]
        区間ごとに 1 行。列は FIT_NAMES の名前(小数 2 桁)。
    """
    names = {"train": "訓練の 6 人", "val": "検証の 1 人"}
    rows = []
    for seg, values in fit.items():
        row = {"区間": names[seg]}
        for key, v in values.items():
            # 線形モデルはどのシードでも同じ値なので、平均だけを出す
            row[FIT_NAMES[key]] = mean_std_text(
                v[:1] if key == "linear" else v, digits=2
            )
        rows.append(row)
    return rows


def fit_comparisons(
    fit: Mapping[str, Mapping[str, Sequence[float]]],
) -> dict[str, Comparison]:
    """当てはまりの比較(シードで対応する t 区間)。

    線形モデルはどのシードとも同じ値と対にするので、その比較の区間は
    GRU のシードによる揺れだけを表す。

    Parameters
    ----------
    fit : Mapping[str, Mapping[str, Sequence[float]]]
        区間 → 方法 → シード順の RMSE(:func:`fit_rmse` の形)。

    Returns
    -------
    dict[str, Comparison]
        "gru_raw"(並べ直し − 標準化だけ、訓練の窓)、"raw_lin"・"gru_lin"
        (GRU − 線形、訓練の窓)、"gru_lin_val"(GRU − 線形、検証の患者)。
    """
    tr, va = fit["train"], fit["val"]
    n = FIT_NAMES
    return {
        "gru_raw": compare_seeds(tr["gru"], tr["raw"], (n["gru"], n["raw"])),
        "raw_lin": compare_seeds(
            tr["raw"], tr["linear"], (n["raw"], n["linear"])
        ),
        "gru_lin": compare_seeds(
            tr["gru"], tr["linear"], (n["gru"], n["linear"])
        ),
        "gru_lin_val": compare_seeds(
            va["gru"], va["linear"], (n["gru"], n["linear"])
        ),
    }


def horizon_comparisons(
    by_horizon: Mapping[int, tuple[Mapping[str, np.ndarray], np.ndarray]],
    sample_min: int,
) -> dict[str, Comparison]:
    """予測先ごとに、線形モデルの 3 チャネル − 血糖のみ を比べる(患者単位)。

    Parameters
    ----------
    by_horizon : Mapping[int, tuple[Mapping[str, np.ndarray], np.ndarray]]
        予測先(点の数)→ (方法の名前 → テストの誤差 [mg/dL]、各窓の患者)。
    sample_min : int
        1 点の間隔 [min](キーを分に直す)。

    Returns
    -------
    dict[str, Comparison]
        "h15" など(予測先 [min])→ 比較。
    """
    out = {}
    for h, (errors, groups) in by_horizon.items():
        out[f"h{h * sample_min}"] = compare_predictions(
            errors[f"線形・{INPUT_NAMES['multi']}"],
            errors[f"線形・{INPUT_NAMES['glucose']}"],
            groups,
            names=(LABELS["linear_multi"], LABELS["linear_glucose"]),
        )
    return out


GRU_LINEAR_KEYS = (
    "gru_lin_g",
    "gru_lin_m",
    "gru_lin_g_nohypo",
    "gru_lin_m_nohypo",
)  # GRU が優れていると言うのに要る判定


def gru_vs_linear_summary(comps: Mapping[str, Comparison]) -> str:
    """GRU と線形モデルの優劣について、判定から言える 1 文。

    Parameters
    ----------
    comps : Mapping[str, Comparison]
        GRU_LINEAR_KEYS の比較を含む、テスト窓での比較。

    Returns
    -------
    str
        4 つの判定がどれも "better" のときだけ GRU が小さいと言う文。
    """
    if all(comps[k].verdict == "better" for k in GRU_LINEAR_KEYS):
        return (
            "すべての窓でも低血糖を除いた窓でも、どちらの入力でも "
            "GRU の RMSE が小さいという判定でした"
        )
    return (
        "すべての窓と低血糖を除いた窓の両方で、どちらの入力でも GRU の"
        "方が小さいという判定にはならず、「GRU が線形モデルより"
        "優れている」とは言えません"
    )


def verdict_rows(
    comps: Mapping[str, Comparison], notes: Mapping[str, str]
) -> list[dict[str, str]]:
    """比較を表の行にする(差 A − B [mg/dL]・95% 区間・A が良かった数・判定)。

    Parameters
    ----------
    comps : Mapping[str, Comparison]
        比較の名前 → 比較(シードでも患者単位でもよい)。
    notes : Mapping[str, str]
        比較の名前 → 何で比べたか(「すべての窓・RMSE」など)。

    Returns
    -------
    list[dict[str, str]]
        comps の順の行。勝ち数にはシードか人の単位をつける。
    """
    rows = []
    for key, c in comps.items():
        unit = "シード" if c.diffs else "人"
        row = comparison_row(c)
        rows.append(
            {
                "比較(A − B)": row["比較(A − B)"],
                "対象": notes[key],
                "差の平均 [mg/dL]": row["差の平均"],
                "95% 区間": row["95% 区間"],
                "A が良い": f"{c.wins}/{c.n} {unit}",
                "判定(A は)": row["判定(A は)"],
            }
        )
    return rows


def pair_notes(pairs: Mapping[str, PairSpec]) -> dict[str, str]:
    """テスト窓での比較の「対象」の欄(窓の選び方・指標)。

    Parameters
    ----------
    pairs : Mapping[str, PairSpec]
        比較の名前 → 何を比べるか。

    Returns
    -------
    dict[str, str]
        比較の名前 → 「すべての窓・RMSE」のような説明。
    """
    return {
        key: f"{WINDOWS[s.windows]}の窓・{s.metric.upper()}"
        for key, s in pairs.items()
    }


SEED_NOTES = {
    "gru_inputs_seeds": "テストの RMSE",
    "gru_raw": "訓練の窓の RMSE",
    "raw_lin": "訓練の窓の RMSE",
    "gru_lin": "訓練の窓の RMSE",
    "gru_lin_val": "検証の患者の RMSE",
}  # シードで対応する比較の対象

_DOWN = (
    "下がりました",
    "上がりました",
    "下がったのか上がったのかを判断できませんでした",
)
_GRU_LIN = ("GRU が小さい", "GRU が大きい", "どちらが小さいか判断できない")
# 本文の向きの言葉: 比較の名前 → (A が良い, A が悪い, 判断できない)
DIRECTIONS = {
    "lin_inputs": _DOWN,
    "gru_inputs": _DOWN,
    "gru_inputs_seeds": (
        "平均で下がり、区間は 0 をまたぎませんでした",
        "平均で上がり、区間は 0 をまたぎませんでした",
        "区間が 0 をまたぎ、向きを判断できませんでした",
    ),
    "lin_persist": (
        "持続予測より小さい",
        "持続予測より大きい",
        "持続予測より小さいのか大きいのか、3 人では判断できない",
    ),
    "gru_lin_g": _GRU_LIN,
    "gru_lin_m": _GRU_LIN,
    "gru_lin_g_mae": _GRU_LIN,
    "gru_lin_m_mae": _GRU_LIN,
    "gru_lin_g_nohypo": (
        "GRU が小さい",
        "線形モデルが小さい",
        "どちらが小さいか判断できない",
    ),
    "gru_lin_m_nohypo": (
        "GRU が小さい",
        "線形モデルが小さい",
        "どちらが小さいか判断できない",
    ),
    "after_linear": _DOWN,
    "after_gru": _DOWN,
    "other_linear": _DOWN,
    "other_gru": _DOWN,
    "before_linear": _DOWN,
    "before_gru": _DOWN,
    "gru_raw": (
        "小さくなりました",
        "大きくなりました",
        "小さくなったのか大きくなったのかを判断できませんでした",
    ),
    "raw_lin": ("小さい", "大きい", "大きいのか小さいのかを判断できない"),
    "gru_lin": (
        "線形モデルより小さく",
        "線形モデルより大きく",
        "線形モデルとの差を判断できず",
    ),
    "gru_lin_val": (
        "線形モデルより小さくなりました",
        "線形モデルより大きくなりました",
        "線形モデルとの差を判断できませんでした",
    ),
    "h15": _DOWN,
    "h60": _DOWN,
}


def direction_words(comps: Mapping[str, Comparison]) -> dict[str, str]:
    """比較の名前 → 判定に合った本文の言葉(DIRECTIONS にある比較だけ)。

    Parameters
    ----------
    comps : Mapping[str, Comparison]
        テスト窓やシードでの比較(DIRECTIONS にないものは無視する)。

    Returns
    -------
    dict[str, str]
        比較の名前 → ``phrase`` が選んだ言葉。
    """
    return {
        key: phrase(comps[key], *DIRECTIONS[key])
        for key in DIRECTIONS
        if key in comps
    }


def curve_name(key: str) -> str:
    """LABELS のキー → 図の凡例の名前(例: 「GRU・血糖のみ」)。

    Parameters
    ----------
    key : str
        "linear_glucose" のような「方法_入力の組」。

    Returns
    -------
    str
        凡例の名前。
    """
    method, inputs = key.split("_")
    return f"{'線形' if method == 'linear' else 'GRU'}・{INPUT_NAMES[inputs]}"


def meal_curves(
    errors: Mapping[str, np.ndarray],
    offset: np.ndarray,
    edges: np.ndarray = MEAL_BIN_EDGES,
) -> dict[str, np.ndarray]:
    """食事からの時間の区間ごとの RMSE [mg/dL](GRU はシードの平均)。

    Parameters
    ----------
    errors : Mapping[str, np.ndarray]
        :func:`test_errors` の結果。各形状 (n_runs, N_test)
    offset : np.ndarray
        各窓の食事からの時間 [min]。形状 (N_test,)
    edges : np.ndarray
        時間の区切り [min](昇順)。

    Returns
    -------
    dict[str, np.ndarray]
        凡例の名前 → 形状 (len(edges) - 1,)
    """
    keys = ("linear_glucose", "linear_multi", "gru_glucose", "gru_multi")
    return {
        curve_name(k): np.mean(rmse_by_bin(offset, errors[k], edges), axis=0)
        for k in keys
    }


def bins_worse_per_seed(
    errors: Mapping[str, np.ndarray],
    offset: np.ndarray,
    edges: np.ndarray = MEAL_BIN_EDGES,
) -> list[int]:
    """シードごとに、3 チャネルの GRU が血糖のみより RMSE の大きい区間の数。

    Parameters
    ----------
    errors : Mapping[str, np.ndarray]
        LABELS のキー → テストの誤差("gru_multi"・"gru_glucose" を使う)。
        各形状 (n_seeds, N_test)
    offset : np.ndarray
        予測の時点から食事までの時間 [min]。形状 (N_test,)
    edges : np.ndarray
        区間の境目 [min]。形状 (n_bins + 1,)

    Returns
    -------
    list[int]
        シードの順の区間の数。長さ (n_seeds,)
    """
    multi, glucose = (
        rmse_by_bin(offset, errors[k], edges)
        for k in ("gru_multi", "gru_glucose")
    )  # 各形状 (n_seeds, n_bins)
    return [int(n) for n in np.sum(multi > glucose, axis=1)]


def _rmse(e: np.ndarray) -> float:
    """誤差の配列(何次元でも)全体の RMSE。"""
    return float(np.sqrt(np.mean(np.square(e))))


@dataclass(frozen=True)
class ClaimInputs:
    """check_claims に渡す、章の実行結果。"""

    split_rows: Mapping[str, np.ndarray]  # 区間 → 各窓の患者(Cohort の行)
    cgm_min: Mapping[str, float]  # 区間 → その区間の患者の CGM の最低値
    target: np.ndarray  # テストの正解 [mg/dL]。形状 (N_test,)
    errors: Mapping[str, np.ndarray]  # test_errors の結果
    after: np.ndarray  # 食後 0〜40 分の窓の印。形状 (N_test,)
    horizon_rmse: Mapping[str, np.ndarray]  # 方法 → 予測先の順の RMSE


def claim_inputs(
    cohort: Cohort,
    comp: InputComparison,
    offset: np.ndarray,
    horizon_rmse: Mapping[str, np.ndarray],
) -> ClaimInputs:
    """章の実行結果から ClaimInputs を作る。

    Parameters
    ----------
    cohort : Cohort
        シミュレーションの結果(区間ごとの CGM の最低値に使う)。
    comp : InputComparison
        :func:`compare_chapter_inputs` の結果。
    offset : np.ndarray
        :func:`meal_offsets` の結果 [min]。形状 (N_test,)
    horizon_rmse : Mapping[str, np.ndarray]
        方法 → 予測先の順の RMSE [mg/dL]。

    Returns
    -------
    ClaimInputs
        :func:`check_claims` に渡す値。
    """
    data = comp.data["multi"]
    rows = CHAPTER_SPLIT.rows(cohort.names)
    target = comp.target_mg()
    return ClaimInputs(
        split_rows=dict(data.rows),
        cgm_min={seg: float(cohort.cgm[rows[seg]].min()) for seg in SEGMENTS},
        target=target,
        errors=test_errors(comp),
        after=window_masks(target, offset)["after"],
        horizon_rmse=dict(horizon_rmse),
    )


def check_claims(r: ClaimInputs) -> list[str]:
    """本文が述べる頑健な事実のうち、実行結果と合わないものの文を返す。

    どれも、固定したシードで作った仮想患者のデータか、乱数を使わない
    方法(持続予測・最小二乗の線形モデル)か、食事を知らないモデルの
    大きな外れについての事実で、GRU のシードや機械によって向きが
    変わるような近い比較は含めない。

    Parameters
    ----------
    r : ClaimInputs
        :func:`claim_inputs` でまとめた章の実行結果。

    Returns
    -------
    list[str]
        合わなかった事実の文(すべて合えば空)。
    """
    e, after = r.errors, np.asarray(r.after, dtype=bool)
    seen = [set(np.unique(v)) for v in r.split_rows.values()]
    lin = {i: e[f"linear_{i}"][0] for i in INPUT_SETS}
    largest = {i: np.argsort(-np.abs(v))[:N_LARGEST] for i, v in lin.items()}
    gain = {
        m: _rmse(e[f"{m}_glucose"][:, after])
        - _rmse(e[f"{m}_multi"][:, after])
        - (
            _rmse(e[f"{m}_glucose"][:, ~after])
            - _rmse(e[f"{m}_multi"][:, ~after])
        )
        for m in ("linear", "gru")
    }
    h = {k: np.asarray(v) for k, v in r.horizon_rmse.items()}
    h_gain = h["線形・血糖のみ"] - h["線形・血糖 + 食事 + インスリン"]
    claims = {
        "訓練・検証・テストに同じ患者が入っていない": (
            all(
                a.isdisjoint(b)
                for k, a in enumerate(seen)
                for b in seen[k + 1 :]
            )
        ),
        f"検証の患者の CGM は {HYPO_MG:.0f} mg/dL を下回らない": (
            r.cgm_min["val"] >= HYPO_MG
        ),
        (
            "テストの患者の CGM の最低値は、訓練と検証の患者の"
            "最低値より 5 mg/dL 以上低い"
        ): r.cgm_min["test"] + 5 < min(r.cgm_min["train"], r.cgm_min["val"]),
        "線形モデルは、どちらの入力でも負の血糖値を予測する窓がある": (
            all(float((v + r.target).min()) < 0 for v in lin.values())
        ),
        f"線形モデルの誤差の大きい {N_LARGEST} 窓は、どれも正解が低血糖": (
            all(np.all(r.target[k] < HYPO_MG) for k in largest.values())
        ),
        (
            "GRU の最大の誤差は、どの学習でも同じ入力の線形モデルの"
            "最大の誤差より小さい"
        ): (
            all(
                np.abs(e[f"gru_{i}"]).max() < np.abs(lin[i]).max()
                for i in INPUT_SETS
            )
        ),
        (
            "血糖のみのモデルは、食後 0〜40 分の窓の RMSE が"
            "それ以外の窓の 1.3 倍を超える"
        ): (
            all(
                _rmse(e[k][:, after]) > 1.3 * _rmse(e[k][:, ~after])
                for k in ("linear_glucose", "gru_glucose")
            )
        ),
        (
            "食事とインスリンを加えた RMSE の改善は、"
            "食後 0〜40 分の窓の方が大きい"
        ): all(v > 0 for v in gain.values()),
        "持続予測の RMSE は予測先が遠いほど大きい": (
            bool(np.all(np.diff(h["持続予測"]) > 0))
        ),
        (
            "線形モデルで食事とインスリンを加えた改善は、"
            "60 分先の方が 15 分先より大きい"
        ): h_gain[-1] > h_gain[0],
    }
    return failed(claims)


def chapter_training(device: torch.device | None = None) -> SimTraining:
    """章の学習の設定(GRU・CHAPTER_TRAIN・CHAPTER_PATIENCE)を device で。

    Parameters
    ----------
    device : torch.device or None
        学習に使うデバイス(None なら CPU)。

    Returns
    -------
    SimTraining
    """
    return SimTraining(
        CHAPTER_KIND, CHAPTER_TRAIN, patience=CHAPTER_PATIENCE, device=device
    )


def compare_chapter_inputs(
    cohort: Cohort, seeds: Sequence[int], device: torch.device | None = None
) -> InputComparison:
    """章の設定で、2 つの入力の組を持続予測・線形・GRU で比べる。

    Parameters
    ----------
    cohort : Cohort
        仮想患者の記録(シミュレーションの結果)。
    seeds : Sequence[int]
        GRU を学習するシード(空でないこと)。
    device : torch.device or None
        学習に使うデバイス(None なら CPU)。

    Returns
    -------
    InputComparison
        入力の組ごとの窓・持続予測と線形の予測・GRU の学習結果。
    """
    from ..glucose_sim.tasks import compare_sim_inputs

    return compare_sim_inputs(
        cohort,
        CHAPTER_SPLIT,
        CHAPTER_FORECAST,
        chapter_training(device),
        tuple(seeds),
    )


def report(seed: int = 0, n_seeds: int = 5) -> None:
    """章の主な結果を表示する(``python -m medrnn glucose_sim``)。

    Parameters
    ----------
    seed : int
        GRU を学習する最初のシード。
    n_seeds : int
        GRU のシードの数(seed から連番)。2 以上ならシードで対応する
        比較も表示する。
    """
    from ..core.notebook import rows_to_markdown
    from ..core.repro import configure_torch
    from ..glucose_sim.tasks import (
        baseline_errors,
        comparison_rows,
        horizon_rmse_table,
        simulate_cohort,
    )

    device = configure_torch()
    cohort = simulate_cohort(CHAPTER_COHORT)
    print(
        f"シミュレーション: {len(cohort.names)} 人 × "
        f"{CHAPTER_COHORT.n_days} 日、{cohort.seconds:.1f} 秒"
    )
    comp = compare_chapter_inputs(cohort, range(seed, seed + n_seeds), device)
    print(f"\n30 分先のテスト RMSE・MAE [mg/dL](GRU は {n_seeds} シード)")
    print(rows_to_markdown(comparison_rows(comp, "GRU")))
    errors = test_errors(comp)
    offset = meal_offsets(cohort, comp, CHAPTER_FORECAST.horizon)
    masks = window_masks(comp.target_mg(), offset)
    groups = comp.data["glucose"].rows["test"]
    pairs = MAIN_PAIRS | MEAL_PAIRS
    comps = compare_pairs(errors, groups, masks, pairs)
    print("\nテストの 3 人の同じ窓での比較(患者ごとのブートストラップ)")
    print(rows_to_markdown(verdict_rows(comps, pair_notes(pairs))))
    if n_seeds >= 2:
        c = seed_comparisons(comp)["gru_inputs_seeds"]
        print(f"\nシードで対応づけた比較(テスト RMSE): {describe(c, 'mg/dL')}")
    by_h = horizon_rmse_table(
        {
            h: baseline_errors(
                cohort, CHAPTER_SPLIT, replace(CHAPTER_FORECAST, horizon=h)
            )
            for h in CHAPTER_HORIZONS
        }
    )
    failures = check_claims(claim_inputs(cohort, comp, offset, by_h))
    print("\n主張の検査: " + claims_summary(failures))
