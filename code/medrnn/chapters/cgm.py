"""CGM の章(book/cgm.md): 設定・実験のまとめ・比較・主張の検査・report()。

章のコードセルとコマンドライン ``python -m medrnn cgm`` は、ここの設定と
関数を使うので、同じ数値が出る。手法の優劣の向きは確かめずに、
:mod:`medrnn.core.compare` の判定から本文の言葉を選ぶ。:func:`check_claims`
が確かめるのは、どの機械・どのシードでも成り立つはずの事実だけである。
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from ..cgm.data import HYPO_MGDL, PERIOD_MIN, SubjectCGM, load_hall
from ..cgm.tasks import (
    GROUPS,
    AlertResult,
    CGMData,
    CGMForecastConfig,
    CGMRun,
    PatientSplitConfig,
    baseline_forecasts,
    clarke_zones,
    common_windows,
    compare_models,
    errors_by_horizon,
    hypo_alerts,
    linear_ar_forecast,
    prepare_cgm,
    zone_percentages,
)
from ..core.claims import failed
from ..core.compare import (
    Comparison,
    Verdict,
    compare_predictions,
    compare_seeds,
)
from ..core.training import TrainConfig

# 章の設定(本文とコマンドラインで共通)
# 訓練 11・検証 3・テスト 5 人(診断の割合をそろえる)
CHAPTER_SPLIT = PatientSplitConfig(n_val=3, n_test=5, seed=0)
# 1 時間(12 回)の入力で 60 分先(12 回先)まで。訓練の窓は 2 回ずつずらす
CHAPTER_FORECAST = CGMForecastConfig(
    seq_len=12, n_ahead=12, train_stride=2, tolerance_min=1.0
)
# 最大 12 エポック(検証の損失が 3 エポック続けて改善しなければ止める)
CHAPTER_TRAIN = TrainConfig(epochs=12, batch_size=128, lr=5e-3)
CHAPTER_SEEDS = (0, 1, 2, 3, 4)  # 各モデルを学習するシード
CHAPTER_HIDDEN = 32  # 隠れ状態の次元
STEPS = (6, 12)  # 本文で比べる先: 6 回 = 30 分先、12 回 = 60 分先
STEP_30 = 6  # 低血糖の警報と Clarke のエラーグリッドで見る先(30 分先)
ALERT_HIGHER = 80.0  # 練習問題 2 の警報のしきい値 [mg/dL]
N_BOOT = 2000  # 患者単位のブートストラップの回数
FAR_AHEAD = 1.0  # 「大きく引き離す」とみなす RMSE の差 [mg/dL](主張の検査)
GROUP_SIZES = {"train": 11, "val": 3, "test": 5}  # 本文に書いた人数

BASELINES = ("持続予測", "直線の外挿", "線形 AR")  # シードによらない方法
MODELS = ("RNN", "LSTM", "GRU")  # シードごとに学習する方法
KEYS = {
    "持続予測": "persist",
    "直線の外挿": "trend",
    "線形 AR": "ar",
    "RNN": "rnn",
    "LSTM": "lstm",
    "GRU": "gru",
}  # 方法 → glue の名前
PAIRS = (
    ("線形 AR", "持続予測"),
    ("直線の外挿", "持続予測"),
    ("RNN", "線形 AR"),
    ("LSTM", "線形 AR"),
    ("GRU", "線形 AR"),
    ("LSTM", "RNN"),
    ("GRU", "RNN"),
    ("LSTM", "GRU"),
)  # 比べる組 (A, B)


class MethodResults(Protocol):
    """比べられる結果(この章の :class:`CGMResults` と注意機構の章の結果)。"""

    @property
    def runs(self) -> Mapping[str, Sequence[object]]:
        """シードごとに学習する方法 → シードの順の学習結果。"""
        ...

    @property
    def target(self) -> np.ndarray:
        """テストの正解。形状 (N, n_out)"""
        ...

    @property
    def groups(self) -> np.ndarray:
        """ブートストラップのまとまり(患者など)。形状 (N,)"""
        ...

    @property
    def group_name(self) -> str:
        """まとまりの呼び名("患者" など)。"""
        ...

    def preds(self, name: str) -> np.ndarray:
        """方法 name の予測。形状 (n_runs, N, n_out)(基準法は n_runs = 1)

        Parameters
        ----------
        name : str
            基準法か、シードごとに学習した方法の名前。

        Returns
        -------
        np.ndarray
            学習ごと(基準法は 1 つ)のテストの予測。形状 (n_runs, N, n_out)
        """
        ...


@dataclass
class CGMResults:
    """章の実験の結果: 窓・基準法の予測・各モデルのシードごとの学習。"""

    data: CGMData  # 組ごとの窓と標準化の値
    baselines: dict[str, np.ndarray]  # 方法 → 予測 [mg/dL]。形状 (N, n_ahead)
    runs: dict[str, list[CGMRun]]  # モデル → シードの順の学習結果
    group_name = "患者"  # ブートストラップのまとまりの呼び名

    @property
    def target(self) -> np.ndarray:
        """テストの組の正解 [mg/dL]。形状 (N, n_ahead)"""
        return self.data.windows["test"].Y

    @property
    def groups(self) -> np.ndarray:
        """テストの各窓の被験者の識別子(患者単位の比較のまとまり)。形状 (N,)"""
        return self.data.windows["test"].subject

    def preds(self, name: str) -> np.ndarray:
        """予測 [mg/dL]。形状 (n_runs, N, n_ahead)(基準法は n_runs = 1)

        Parameters
        ----------
        name : str
            方法の名前(基準法かモデル)。

        Returns
        -------
        np.ndarray
            形状 (n_runs, N, n_ahead)
        """
        if name in self.baselines:
            return self.baselines[name][None]
        return np.stack([run.test_pred for run in self.runs[name]])


def run_experiment(
    data: CGMData,
    seeds: Sequence[int] = CHAPTER_SEEDS,
    train: TrainConfig = CHAPTER_TRAIN,
    hidden_size: int = CHAPTER_HIDDEN,
    progress: bool = False,
) -> CGMResults:
    """基準法の予測と、RNN・LSTM・GRU のシードごとの学習をまとめて行う。

    学習は 3 つのネットワークのそれぞれで len(seeds) 回。

    Parameters
    ----------
    data : CGMData
        患者で分けた組ごとの窓(:func:`medrnn.cgm.tasks.prepare_cgm`)。
    seeds : Sequence[int]
        3 つのネットワークのそれぞれを学習するシード。
    train : TrainConfig
        エポック数の上限・バッチサイズ・学習率。
    hidden_size : int
        3 つのネットワークに共通の隠れ状態の次元。
    progress : bool
        学習の進み具合を 1 回ごとに表示するか。

    Returns
    -------
    CGMResults
        data と、基準法の予測 [mg/dL]、モデル → シード順の学習結果。
    """
    return CGMResults(
        data,
        baseline_forecasts(data),
        compare_models(data, list(seeds), train, hidden_size, progress),
    )


def run_rmse(results: MethodResults, name: str, step: int = 1) -> np.ndarray:
    """step 回先のテスト RMSE を学習ごとに。形状 (n_runs,)

    Parameters
    ----------
    results : MethodResults
        予測と正解を持つ結果(この章か注意機構の章)。
    name : str
        方法の名前。
    step : int
        何回先か(1 始まり。6 回 = 30 分先)。

    Returns
    -------
    np.ndarray
        RMSE [mg/dL]。形状 (n_runs,)(基準法は長さ 1)
    """
    preds = results.preds(name)[:, :, step - 1]  # (n_runs, N)
    return np.sqrt(np.mean((preds - results.target[:, step - 1]) ** 2, axis=1))


def rmse_by_seed(
    results: MethodResults, name: str, step: int, n_seeds: int
) -> np.ndarray:
    """step 回先のテスト RMSE をシードの順に。形状 (n_seeds,)

    基準法はシードによらないので、同じ値を n_seeds 個並べる。

    Parameters
    ----------
    results, name, step : :func:`run_rmse` と同じ
        結果・方法の名前・何回先か。
    n_seeds : int
        シードの数(基準法の値を並べる長さ)。

    Returns
    -------
    np.ndarray
        RMSE [mg/dL]。形状 (n_seeds,)
    """
    rmse = run_rmse(results, name, step)
    return np.broadcast_to(rmse, (n_seeds,)) if len(rmse) == 1 else rmse


@dataclass(frozen=True)
class PairComparison:
    """2 つの方法の、ある先での 2 通りの比較。"""

    step: int  # 先(測定の回数)
    by_seed: Comparison | None  # シードで対応する比較(両方が基準法なら None)
    by_patient: Comparison  # テストの患者単位のブートストラップ


def compare_pair(
    results: MethodResults, a: str, b: str, step: int = 1
) -> PairComparison:
    """方法 a と b を、シードで対応させて・まとまり(患者など)単位で、の
    2 通りで比べる(注意機構の章もこの関数で比べる)。

    Parameters
    ----------
    results : MethodResults
        比べる方法の予測・正解・まとまりを持つ結果。
    a, b : str
        比べる方法の名前(差は a − b)。
    step : int
        何回先の予測で比べるか(1 始まり)。

    Returns
    -------
    PairComparison
        シードで対応する比較(両方が基準法なら None)と、まとまり単位の
        ブートストラップの比較(RMSE の差 [mg/dL])。
    """
    n_seeds = max(len(g) for g in results.runs.values())
    by_seed = None
    if a in results.runs or b in results.runs:
        by_seed = compare_seeds(
            rmse_by_seed(results, a, step, n_seeds),
            rmse_by_seed(results, b, step, n_seeds),
            names=(a, b),
        )
    error_a, error_b = (
        results.preds(name)[:, :, step - 1] - results.target[:, step - 1]
        for name in (a, b)
    )
    by_patient = compare_predictions(
        error_a,
        error_b,
        groups=results.groups,
        names=(a, b),
        metric="rmse",
        n_boot=N_BOOT,
        unit_name=results.group_name,
    )
    return PairComparison(step, by_seed, by_patient)


def compare_methods(
    results: MethodResults,
    steps: Sequence[int] = STEPS,
    pairs: Sequence[tuple[str, str]] = PAIRS,
) -> dict[tuple[str, str, int], PairComparison]:
    """本文で比べる組のすべてを、各先で比べる。

    Parameters
    ----------
    results : MethodResults
        章の実験の結果。
    steps : Sequence[int]
        比べる先(測定の回数)。
    pairs : Sequence[tuple[str, str]]
        比べる組 (A, B)。

    Returns
    -------
    dict[tuple[str, str, int], PairComparison]
        (A, B, 先) → :func:`compare_pair` の結果。先ごとに pairs の順。
    """
    return {
        (a, b, step): compare_pair(results, a, b, step)
        for step in steps
        for a, b in pairs
    }


NO_SEED = "—(どちらもシードによらない)"  # シードの比較がない組の区間の欄


def interval_text(c: Comparison | None, none: str = NO_SEED) -> str:
    """比較の 95% 区間と判定の文字列(比較がなければ none)。

    Parameters
    ----------
    c : Comparison or None
        比較。None はシードの比較がない組。
    none : str
        c が None のときに返す文字列。

    Returns
    -------
    str
        「−1.23 〜 +0.45(判定)」の形(小数 2 桁)か none。
    """
    if c is None:
        return none
    return f"{c.low:+.2f} 〜 {c.high:+.2f}({c.verdict_ja})"


def comparison_rows(
    comparisons: dict[tuple[str, str, int], PairComparison],
    minutes_per_step: float | None = PERIOD_MIN,
    wins: str = "A が良かった患者",
    no_seed: str = NO_SEED,
) -> list[dict[str, str]]:
    """表の行: 差 A − B と、シード・まとまり(患者など)の 95% 区間と判定。

    Parameters
    ----------
    comparisons : dict[tuple[str, str, int], PairComparison]
        :func:`compare_methods` の結果。
    minutes_per_step : float or None
        1 回の測定の間隔 [分]。None なら「先」の列を出さない。
    wins : str
        まとまり単位で A が勝った数の列の名前。
    no_seed : str
        シードの比較がない組の区間の欄(注意機構の章と共通)。

    Returns
    -------
    list[dict[str, str]]
        比較ごとに 1 行(RMSE の差 [mg/dL] は小数 2 桁)。
    """
    rows = []
    for (a, b, step), pc in comparisons.items():
        p = pc.by_patient
        row = (
            {"先": f"{step * minutes_per_step:.0f} 分"}
            if minutes_per_step
            else {}
        )
        unit = p.method.split("単位")[0]  # まとまりの呼び名("患者" など)
        row |= {
            "比較(A − B)": f"{a} − {b}",
            "RMSE の差": f"{p.mean_diff:+.2f}",
            "シードの 95% 区間(判定)": interval_text(pc.by_seed, no_seed),
            f"{unit}の 95% 区間(判定)": interval_text(p),
            wins: f"{p.wins}/{p.n}",
        }
        rows.append(row)
    return rows


def glue_key(a: str, b: str, step: int) -> str:
    """比較の glue の名前の元(例: ``cgm_lstm_ar_6``)。

    Parameters
    ----------
    a, b : str
        比べる方法の名前(KEYS のキー)。
    step : int
        先(測定の回数)。

    Returns
    -------
    str
        ``cgm_{A}_{B}_{step}``(A・B は KEYS の短い名前)。
    """
    return f"cgm_{KEYS[a]}_{KEYS[b]}_{step}"


def overall_verdict(pc: PairComparison) -> Verdict:
    """本文で向きを書くときの判定(シードと患者の判定がそろったときだけ)。

    片方がシードによらない方法どうしの比較(by_seed が None)なら患者の判定。

    Parameters
    ----------
    pc : PairComparison
        2 通りの比較(:func:`compare_pair` の結果)。

    Returns
    -------
    Verdict
        "better"・"worse"・"cannot tell" のどれか。
    """
    v = pc.by_patient.verdict
    if pc.by_seed is None or pc.by_seed.verdict == v:
        return v
    return "cannot tell"


WORDS = {
    "better": "{b}より誤差が小さい",
    "worse": "{b}より誤差が大きい",
    "cannot tell": "{b}との差の向きは判断できない",
}  # 判定 → 本文の言葉


def verdict_words(verdict: Verdict, b: str) -> str:
    """判定を、B の名前を入れた本文の言葉にする(英字の名前の後には空白)。

    Parameters
    ----------
    verdict : Verdict
        A の B に対する判定。
    b : str
        比べる相手 B の名前(空でない)。

    Returns
    -------
    str
        「線形 AR より誤差が小さい」のような言葉。
    """
    return WORDS[verdict].format(b=b + (" " if b[-1].isascii() else ""))


def direction_words(
    comparisons: dict[tuple[str, str, int], PairComparison],
) -> dict[str, str]:
    """本文に glue する向きの言葉(glue の名前 → 言葉)。

    ``{key}_seed_dir``・``{key}_pat_dir``(各判定)と ``{key}_dir``
    (:func:`overall_verdict`)。key は :func:`glue_key`。

    Parameters
    ----------
    comparisons : dict[tuple[str, str, int], PairComparison]
        (A, B, 先) → 比較(:func:`compare_methods`)。

    Returns
    -------
    dict[str, str]
        glue の名前 → :func:`verdict_words` の言葉。
    """
    words = {}
    for (a, b, step), pc in comparisons.items():
        key = glue_key(a, b, step)
        verdicts = {"pat": pc.by_patient.verdict, "": overall_verdict(pc)}
        if pc.by_seed is not None:
            verdicts["seed"] = pc.by_seed.verdict
        for by, verdict in verdicts.items():
            name = f"{key}_{by}_dir" if by else f"{key}_dir"
            words[name] = verdict_words(verdict, b)
    return words


def verdict_counts(
    comparisons: dict[tuple[str, str, int], PairComparison],
    baseline: str,
    step: int,
) -> dict[Verdict, int]:
    """3 つのネットワークと baseline の比較で、各判定(:func:`overall_verdict`)
    になったネットワークの数。

    Parameters
    ----------
    comparisons : dict[tuple[str, str, int], PairComparison]
        (モデル, baseline, step) の比較を含む結果。
    baseline : str
        ネットワークと比べた方法の名前。
    step : int
        先(測定の回数)。

    Returns
    -------
    dict[Verdict, int]
        判定 → ネットワークの数(合計 3)。
    """
    counts: dict[Verdict, int] = {"better": 0, "worse": 0, "cannot tell": 0}
    for model in MODELS:
        counts[overall_verdict(comparisons[(model, baseline, step)])] += 1
    return counts


def change_words(before: float, after: float) -> str:
    """「a から b に」に続く言葉(増えた・減った・変わらない)。

    Parameters
    ----------
    before, after : float
        変わる前と後の値(同じ単位)。

    Returns
    -------
    str
        「増えました」・「減りました」・「なり、変わりませんでした」。
    """
    if after > before:
        return "増えました"
    return "減りました" if after < before else "なり、変わりませんでした"


def compare_input_lengths(
    short: CGMData, long: CGMData, step: int = STEP_30
) -> tuple[Comparison, int]:
    """入力の長さだけが違う 2 つの設定の線形 AR を、共通のテストの窓で比べる。

    長い入力の窓は短い入力の窓の一部なので、両方にある窓(同じ被験者・
    同じ入力の最後の時刻、つまり同じ予測の対象)だけで、患者単位の
    ブートストラップで比べる。

    Parameters
    ----------
    short, long : CGMData
        短い入力と長い入力で作った窓(ほかの設定は同じ)。
    step : int
        何回先の予測で比べるか(既定は 30 分先)。

    Returns
    -------
    comparison : Comparison
        長い入力 − 短い入力 の RMSE の差 [mg/dL]。
    n_common : int
        共通のテストの窓の数。
    """
    index_long, index_short = common_windows(
        long.windows["test"], short.windows["test"]
    )
    error_long, error_short = (
        linear_ar_forecast(d)[i, step - 1] - d.windows["test"].Y[i, step - 1]
        for d, i in ((long, index_long), (short, index_short))
    )
    names = (
        f"入力 {long.windows['test'].X.shape[1] * PERIOD_MIN:.0f} 分",
        f"入力 {short.windows['test'].X.shape[1] * PERIOD_MIN:.0f} 分",
    )
    c = compare_predictions(
        error_long,
        error_short,
        groups=long.windows["test"].subject[index_long],
        names=names,
        n_boot=N_BOOT,
        unit_name="患者",
    )
    return c, len(index_long)


def predicted_lows(
    results: CGMResults, name: str, step: int = STEP_30
) -> np.ndarray:
    """予測が 70 mg/dL 未満になった時点の数(シードごと)。形状 (n_runs,)

    Parameters
    ----------
    results : CGMResults
        章の実験の結果。
    name : str
        方法の名前。
    step : int
        何回先の予測を見るか。

    Returns
    -------
    np.ndarray
        学習ごとの時点の数。形状 (n_runs,)
    """
    preds = results.preds(name)[:, :, step - 1]
    return np.sum(preds < HYPO_MGDL, axis=1)


def group_overlaps(groups: dict[str, list[str]]) -> dict[str, int]:
    """2 つの組に同時に入っている被験者の数(組の対ごと)。

    Parameters
    ----------
    groups : dict[str, list[str]]
        組の名前(GROUPS)→ 被験者の識別子。

    Returns
    -------
    dict[str, int]
        「train と val」などの組の対 → 重なる人数(正しく分ければ 0)。
    """
    sets = {name: set(ids) for name, ids in groups.items()}
    return {
        f"{a} と {b}": len(sets[a] & sets[b])
        for i, a in enumerate(GROUPS)
        for b in GROUPS[i + 1 :]
    }


def rmse_30(pred: np.ndarray, data: CGMData) -> float:
    """テストの組の 30 分先の RMSE [mg/dL]。

    Parameters
    ----------
    pred : np.ndarray
        テストの組の予測 [mg/dL]。形状 (N_test, horizon)
    data : CGMData
        pred を作った窓(テストの正解を使う)。

    Returns
    -------
    float
        STEP_30 回先の RMSE [mg/dL]。
    """
    err = errors_by_horizon(pred, data.windows["test"].Y)
    return float(err["rmse"][STEP_30 - 1])


def exercise_1(
    subjects: list[SubjectCGM], data: CGMData
) -> tuple[dict[int, CGMData], dict[str, float]]:
    """練習問題 1: 入力 1・2・4 時間(12・24・48 回)での線形 AR の 30 分先
    の RMSE [mg/dL] と、テストの窓の数("12"・"n_12" など)。

    Parameters
    ----------
    subjects : 全被験者の記録(2 時間と 4 時間の窓を作り直す)
    data : 本文の窓(入力 12 回)

    Returns
    -------
    by_len, out : 入力の長さ → 窓と、RMSE と窓の数
    """
    by_len = {12: data}  # 入力の長さ → 窓
    for seq_len in (24, 48):
        forecast = replace(CHAPTER_FORECAST, seq_len=seq_len)
        by_len[seq_len] = prepare_cgm(subjects, CHAPTER_SPLIT, forecast)
    out: dict[str, float] = {}
    for seq_len, data_l in by_len.items():
        pred_l = linear_ar_forecast(data_l)  # (N_test, horizon)
        out[str(seq_len)] = rmse_30(pred_l, data_l)  # それぞれの窓で
        out[f"n_{seq_len}"] = len(pred_l)
    return by_len, out


def exercise_2(
    pred: np.ndarray, actual: np.ndarray, segment: np.ndarray
) -> AlertResult:
    """練習問題 2: 警報のしきい値を ALERT_HIGHER(80 mg/dL)に上げる。

    実測の低血糖の定義(70 mg/dL 未満)はそのまま。

    Parameters
    ----------
    pred, actual : 30 分先の予測と実測 [mg/dL]。形状 (N,)、時刻順
    segment : 各時点の区間の番号。形状 (N,)

    Returns
    -------
    AlertResult : 感度・誤警報の数・警報が出たエピソードの数など
    """
    return hypo_alerts(pred, actual, segment, alert_below=ALERT_HIGHER)


def exercise_3(subjects: list[SubjectCGM]) -> dict[str, float]:
    """練習問題 3: 分け方のシードを 1 にしたテストの組での 30 分先の RMSE。

    Parameters
    ----------
    subjects : 全被験者の記録(組を分け直して窓を作る)

    Returns
    -------
    "persist"・"ar" → 持続予測と線形 AR の RMSE [mg/dL]
    """
    split_1 = replace(CHAPTER_SPLIT, seed=1)  # テストの 5 人が変わる
    data_1 = prepare_cgm(subjects, split_1, CHAPTER_FORECAST)
    base_1 = baseline_forecasts(data_1)  # 方法 → 予測 (N_test, horizon)
    keys = {"持続予測": "persist", "線形 AR": "ar"}
    return {key: rmse_30(base_1[name], data_1) for name, key in keys.items()}


def check_claims(results: CGMResults, subject_ids: Sequence[str]) -> list[str]:
    """本文の頑健な主張のうち、成り立たないものの文を返す。

    Parameters
    ----------
    results : CGMResults
        章の実験の結果(:func:`run_experiment`)。
    subject_ids : Sequence[str]
        データの全被験者の識別子(19 人)。

    Returns
    -------
    list[str]
        成り立たない主張の文。どれも成り立てば空。
    """
    data, target = results.data, results.target
    step = STEP_30
    ar = results.preds("線形 AR")[0]
    trend = results.preds("直線の外挿")[0]
    actual_low = int(np.sum(target[:, step - 1] < HYPO_MGDL))
    windows_ok = all(
        set(data.windows[g].subject) <= set(data.groups[g]) for g in GROUPS
    )
    alerts = {
        name: hypo_alerts(
            p[:, step - 1], target[:, step - 1], data.windows["test"].segment
        )
        for name, p in (("ar", ar), ("trend", trend))
    }
    higher = hypo_alerts(
        ar[:, step - 1],
        target[:, step - 1],
        data.windows["test"].segment,
        alert_below=ALERT_HIGHER,
    )
    horizon_grows = all(
        np.all(run_rmse(results, n, 12) > run_rmse(results, n, 6))
        for n in (*results.baselines, *results.runs)
    )
    zone_a = {
        name: [
            zone_percentages(
                clarke_zones(
                    target[:, h - 1], results.preds(name)[0, :, h - 1]
                )
            )["A"]
            for h in (6, 12)
        ]
        for name in ("線形 AR", *results.runs)
    }
    claims = {
        "同じ被験者が 2 つの組に入っていない": (
            not any(group_overlaps(data.groups).values())
        ),
        "全員がどれかの組に入っている": (
            sorted(sum(data.groups.values(), [])) == sorted(subject_ids)
        ),
        "組の人数は訓練 11・検証 3・テスト 5": (
            {g: len(ids) for g, ids in data.groups.items()} == GROUP_SIZES
        ),
        "各組の窓は、その組の被験者の記録だけから作られている": windows_ok,
        "どの方法・どのシードでも、60 分先の RMSE は 30 分先より大きい": (
            horizon_grows
        ),
        (
            "どのネットワークも、30 分先の RMSE(シードの平均)で線形 AR を "
            f"{FAR_AHEAD:g} mg/dL 以上は下回らない"
        ): (
            all(
                run_rmse(results, n, step).mean()
                > run_rmse(results, "線形 AR", step)[0] - FAR_AHEAD
                for n in results.runs
            )
        ),
        (
            "線形 AR とどのネットワークも、30 分先の予測が 70 mg/dL を下回った"
            "時点の数は、実測が下回った時点の数より少ない"
        ): (
            all(
                np.all(predicted_lows(results, n) < actual_low)
                for n in ("線形 AR", *results.runs)
            )
        ),
        "30 分先の直線の外挿の誤警報は、線形 AR より多い": (
            alerts["trend"].n_false_alerts > alerts["ar"].n_false_alerts
        ),
        "警報のしきい値を上げても、感度と警報が出たエピソードは減らない": (
            higher.sensitivity >= alerts["ar"].sensitivity
            and higher.n_events_alerted >= alerts["ar"].n_events_alerted
        ),
        (
            "線形 AR と各ネットワーク(最初のシード)の"
            " Clarke の A 領域の割合は、60 分先の方が 30 分先より小さい"
        ): all(a60 < a30 for a30, a60 in zone_a.values()),
    }
    return failed(claims)


def _print_table(rows: list[dict[str, str]]) -> None:
    from ..core.notebook import rows_to_markdown

    print(rows_to_markdown(rows))


def report(seed: int = 0, n_seeds: int = 5) -> None:
    """章の主な結果(誤差・比較の判定・低血糖の警報)を表示する。

    Parameters
    ----------
    seed : int
        各モデルを学習する最初のシード(警報の表もこのシードのモデル)。
    n_seeds : int
        シード seed, seed + 1, ..., seed + n_seeds − 1 で学習する(1 以上)。
        2 未満ならシードの比較が要る組を省く。
    """
    from ..cgm.tasks import alert_rows, summary_rows

    if n_seeds < 1:
        raise ValueError(f"n_seeds は 1 以上にしてください({n_seeds})")
    subjects = load_hall()
    data = prepare_cgm(subjects, CHAPTER_SPLIT, CHAPTER_FORECAST)
    for name in GROUPS:
        print(
            f"{name}: {', '.join(data.groups[name])}"
            f"(窓 {len(data.windows[name].X)} 個)"
        )
    results = run_experiment(
        data,
        range(seed, seed + n_seeds),
        CHAPTER_TRAIN,
        CHAPTER_HIDDEN,
        progress=True,
    )
    _print_table(summary_rows(results.baselines, results.runs, results.target))
    pairs = PAIRS if n_seeds >= 2 else PAIRS[:2]  # シードの比較は 2 つ以上で
    print(f"比較(テストの {len(set(results.groups))} 人、{n_seeds} シード):")
    _print_table(comparison_rows(compare_methods(results, pairs=pairs)))
    preds = {
        **results.baselines,
        **{name: g[0].test_pred for name, g in results.runs.items()},
    }
    print(f"30 分先の低血糖の警報(モデルはシード {seed}):")
    _print_table(
        alert_rows(
            preds, results.target, data.windows["test"].segment, step=STEP_30
        )
    )
    problems = check_claims(results, [s.subject_id for s in subjects])
    print(
        "本文の主張の検査:",
        "すべて成り立つ"
        if not problems
        else "成り立たない主張 " + " / ".join(problems),
    )
