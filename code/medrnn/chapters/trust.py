"""信頼の章(book/trust.md): 設定・実験・比較・主張の検査・report()。

CGM の予測は CGM の章と同じ患者の分け方・同じ窓・同じ学習の設定
(:mod:`medrnn.chapters.cgm` の設定そのもの)で、GRU を 5 つのシードで
学習する。心電図の拍の分類は心電図の章の設定で GRU を 1 つ学習する。
学習は 1 回だけにして、説明・区間・較正・部分集団の節で使い回す。
:func:`check_claims` が確かめるのは、どの機械・どのシードでも成り立つ
事実(分位点の定義、温度で判定が変わらないこと、統合勾配の完全性など)だけ。
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..cgm.data import HYPO_MGDL, PERIOD_MIN
from ..cgm.tasks import (
    CGMData,
    CGMRun,
    clarke_zones,
    forecast_mgdl,
    train_cgm_forecaster,
)
from ..core.claims import failed
from ..core.compare import Comparison, compare_predictions, time_blocks
from ..core.evaluation import predict
from ..core.training import TrainConfig
from ..ecg.record import ECG_FS, LabelConfig
from ..ecg.tasks import BeatData, BeatTaskConfig, train_beat_classifier
from ..trust import calibration as cal
from ..trust import conformal as conf
from ..trust import explain as ex
from ..trust.subgroups import (
    MIN_PATIENTS,
    Subgroup,
    compare_in_subgroups,
    glucose_ranges,
    input_volatility,
)
from .cgm import CHAPTER_HIDDEN, CHAPTER_SEEDS, CHAPTER_TRAIN, STEP_30, STEPS
from .ecg import CHAPTER_BEAT_TRAIN, CHAPTER_BEATS

ALPHA = 0.1  # 予測区間が外れてよい割合(名目の被覆率 90%)
KIND = "gru"  # CGM の予測にも拍の分類にも使うモデル
N_EXPLAIN = 64  # 帰属を求めるテストの窓の数(等間隔に選ぶ)
N_REFERENCES = 80  # GradientSHAP の基準に使う訓練の窓の数
RANDOM_LINE = 0.5  # 無作為化の後の順位相関がこれ未満なら「帰属が変わった」
N_BINS = 5  # 信頼性図のビンの数(テストの拍は約 90 個)
BEAT_BLOCK = 10  # 拍のブートストラップの時間のブロック(拍の数)
ECG_SEED = 0  # 拍の分類器のシード
CONFIDENT = 0.9  # 「自信のある判定」: 確率が 0.9 以上か 0.1 以下
ZONE_A_REL = 0.2  # Clarke の A 領域の幅(実測の ±20%)
CLAIM_TOL = 1e-6  # 数値の等しさの許容
ENSEMBLE_MAX_COVERAGE = 0.5  # 深層アンサンブルの被覆率の上限(主張の検査)
LABEL_RULE = LabelConfig()  # 心電図の章が拍のラベルに使う規則(既定の設定)


@dataclass
class Ensemble:
    """同じ設定でシードだけを変えて学習した GRU の予測 [mg/dL]。"""

    runs: list[CGMRun]  # シードの順
    val_pred: np.ndarray  # 検証(較正)の組。形状 (n_members, N_val, n_ahead)
    test_pred: np.ndarray  # テストの組。形状 (n_members, N, n_ahead)


def train_ensemble(
    data: CGMData,
    seeds: Sequence[int] = CHAPTER_SEEDS,
    train: TrainConfig = CHAPTER_TRAIN,
    hidden_size: int = CHAPTER_HIDDEN,
) -> Ensemble:
    """CGM の章の設定で GRU をシードごとに学習し、検証とテストを予測する。

    Parameters
    ----------
    data : 患者ごとに分けた窓(CGM の章と同じ prepare_cgm の結果)
    seeds : 乱数のシード(1 つがアンサンブルの 1 メンバー)
    train : エポック数・バッチの大きさ・学習率
    hidden_size : GRU の隠れ状態の次元

    Returns
    -------
    Ensemble
        メンバーの学習結果と、検証・テストの予測 [mg/dL]。
    """
    runs = [
        train_cgm_forecaster(KIND, data, s, train, hidden_size) for s in seeds
    ]
    val = np.stack([forecast_mgdl(r.model, data, "val") for r in runs])
    return Ensemble(runs, val, np.stack([r.test_pred for r in runs]))


def explain_windows(n_windows: int, n_explain: int = N_EXPLAIN) -> np.ndarray:
    """帰属を求める窓の番号(テストの窓から等間隔に)。

    Parameters
    ----------
    n_windows : int
        選ぶ元の窓の数。
    n_explain : int
        選ぶ数(n_windows より多ければ n_windows 個)。

    Returns
    -------
    np.ndarray
        0 から n_windows − 1 までの整数の番号。形状 (n_explain,)
    """
    return np.linspace(0, n_windows - 1, min(n_explain, n_windows)).astype(int)


def cgm_attributions(
    model: nn.Module, data: CGMData, index: np.ndarray, step: int = STEP_30
) -> dict[str, np.ndarray]:
    """step 回先の予測への、入力の各時刻の帰属 [mg/dL]。各形状 (n, seq_len)

    基準(baseline)は「訓練の平均の血糖値が 1 時間続いた窓」(標準化で 0)。
    統合勾配の帰属の合計は「予測 − 基準の窓の予測」[mg/dL] になる。

    Parameters
    ----------
    model : 学習済みの CGM の予測モデル(出力は先ごと)
    data : 標準化の平均・標準偏差と、テスト・訓練の窓
    index : 説明するテストの窓の番号。形状 (n,)
    step : 何回先の予測を説明するか(STEP_30 なら 30 分先)
    """
    x = data.inputs("test")[index]  # (n, T, 1)
    refs = data.inputs("train")
    refs = refs[explain_windows(len(refs), N_REFERENCES)]
    base = torch.zeros(x.shape[1:])  # 訓練の平均 [mg/dL] の平らな窓
    return {
        m: data.std * ex.attribute(model, x, m, base, step - 1, refs)[..., 0]
        for m in ex.METHODS
    }


def _explainer(
    method: str,
    x: torch.Tensor,
    base: torch.Tensor,
    target: int,
    references: torch.Tensor,
) -> Callable[[nn.Module], np.ndarray]:
    """モデルを受け取り、x の帰属を返す関数(無作為化の検査に渡す)。"""
    return lambda net: ex.attribute(net, x, method, base, target, references)


def randomization_similarity(
    model: nn.Module,
    x: torch.Tensor,
    target: int,
    references: torch.Tensor,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """方法ごとに、層を出力側から初期化し直したときの順位相関の平均。

    Parameters
    ----------
    model : nn.Module
        学習済みのモデル(複製を壊すので、これ自体は変わらない)。
    x : torch.Tensor
        説明する入力。形状 (N, seq_len, input_size)
    target : int
        説明する出力の列の番号。
    references : torch.Tensor
        GradientSHAP の基準の窓。形状 (M, seq_len, input_size)
    seed : int
        層を引き直す乱数のシード。

    Returns
    -------
    dict
        方法 → {"head": 出力層だけ, "head+recurrent": 再帰層も} → 平均。
    """
    base = torch.zeros(x.shape[1:])
    out = {}
    for m in ex.METHODS:
        sims = ex.cascading_randomization(
            model,
            _explainer(m, x, base, target, references),
            seed=seed,
        )
        out[m] = {stage: float(v.mean()) for stage, v in sims.items()}
    return out


def input_likeness(
    attrs: dict[str, np.ndarray], x: torch.Tensor
) -> dict[str, float]:
    """方法ごとに、帰属と「入力そのもの(基準 0 からのずれ)」の順位相関の平均。

    1 に近いほど、帰属はモデルより入力の形(縁や山)を映している。

    Parameters
    ----------
    attrs : dict[str, np.ndarray]
        方法 → 帰属。形状 (N, seq_len) か (N, seq_len, 1)。
    x : torch.Tensor
        帰属を求めた標準化した入力。形状 (N, seq_len, 1)

    Returns
    -------
    dict[str, float]
        方法 → 例ごとの順位相関の平均。
    """
    shape = x.numpy().reshape(len(x), -1)
    return {
        m: float(ex.rank_similarity(a.reshape(len(a), -1), shape).mean())
        for m, a in attrs.items()
    }


def passed_methods(similarity: dict[str, dict[str, float]]) -> str:
    """全層を引き直した後の順位相関が RANDOM_LINE 未満だった方法の名前。

    Parameters
    ----------
    similarity : dict[str, dict[str, float]]
        :func:`randomization_similarity` の結果(1 つの課題)。

    Returns
    -------
    str
        合格した方法を「・」でつないだ文字(1 つもなければ「なし」)。
    """
    names = [
        m for m, v in similarity.items() if v["head+recurrent"] < RANDOM_LINE
    ]
    return "・".join(names) if names else "なし"


def randomization_rows(
    similarity: dict[str, dict[str, dict[str, float]]],
    likeness: dict[str, dict[str, float]],
) -> list[dict[str, str]]:
    """表の行: 課題・方法ごとの順位相関(出力層だけ・全層)と入力との相関。

    Parameters
    ----------
    similarity : dict[str, dict[str, dict[str, float]]]
        課題 → :func:`randomization_similarity` の結果。
    likeness : dict[str, dict[str, float]]
        課題 → :func:`input_likeness` の結果。

    Returns
    -------
    list[dict[str, str]]
        課題と方法の組が 1 行(判定は「合格」か「不合格」)。
    """
    rows = []
    for task, by_method in similarity.items():
        for m, v in by_method.items():
            full = v["head+recurrent"]
            rows.append(
                {
                    "課題": task,
                    "方法": m,
                    "出力層だけ": f"{v['head']:.2f}",
                    "全層": f"{full:.2f}",
                    "入力との相関": f"{likeness[task][m]:.2f}",
                    "判定": "合格" if full < RANDOM_LINE else "不合格",
                }
            )
    return rows


def ig_completeness_gap(
    model: nn.Module, x: torch.Tensor, target: int
) -> tuple[float, float]:
    """統合勾配の完全性: |帰属の合計 − (f(x) − f(基準))| の平均と、
    |f(x) − f(基準)| の平均(どちらも出力の単位)。

    Parameters
    ----------
    model : nn.Module
        調べるモデル(基準は標準化で 0 の平らな窓)。
    x : torch.Tensor
        入力。形状 (N, seq_len, input_size)
    target : int
        帰属を求める出力の列の番号。

    Returns
    -------
    tuple[float, float]
        (ずれの平均, 差の大きさの平均)。
    """
    base = torch.zeros(x.shape[1:])
    a = ex.attribute(model, x, "統合勾配", base, target)
    with torch.no_grad():
        fx = model.eval()(x)[:, target].numpy()
        fb = model(base.expand_as(x).contiguous())[:, target].numpy()
    gap = np.abs(a.reshape(len(x), -1).sum(axis=1) - (fx - fb))
    return float(gap.mean()), float(np.abs(fx - fb).mean())


# --- 心電図の拍の分類器 --------------------------------------------------


def train_beat_model(
    data: BeatData,
    seed: int = ECG_SEED,
    config: TrainConfig = CHAPTER_BEAT_TRAIN,
    device: torch.device | None = None,
) -> nn.Module:
    """心電図の章の設定で、波形入力の GRU 分類器を学習して(CPU で)返す。

    学習は心電図の章の :func:`~medrnn.ecg.tasks.train_beat_classifier`
    そのもの(device が None なら configure_torch() のデバイス)。

    Parameters
    ----------
    data : BeatData
        心電図の章の拍の入力と正解(波形入力を使う)。
    seed : int
        分類器の乱数のシード。
    config : TrainConfig
        心電図の章の学習の設定。
    device : torch.device or None
        学習に使うデバイス。

    Returns
    -------
    nn.Module
        学習済みの分類器。入力 (N, T, 1) → ロジット (N, 1)。
    """
    run = train_beat_classifier(
        KIND, data, "waveform", seed, config, device=device
    )
    return run.model


def beat_times_s(
    config: BeatTaskConfig = CHAPTER_BEATS, fs: float = ECG_FS
) -> np.ndarray:
    """波形入力の各点の、R 波からの時刻 [s](間引いた点の中央)。

    Parameters
    ----------
    config : BeatTaskConfig
        切り出す幅 [s] と間引きの倍率。
    fs : float
        元の心電図のサンプリング周波数 [Hz]。

    Returns
    -------
    np.ndarray
        時刻 [s](R 波より前は負)。形状 (T,)
    """
    n_before = round(config.before_s * fs)
    n = (n_before + round(config.after_s * fs)) // config.factor
    first = np.arange(n) * config.factor - n_before  # 各点の最初のサンプル
    return (first + (config.factor - 1) / 2) / fs


def label_window(t: np.ndarray, label: LabelConfig = LABEL_RULE) -> np.ndarray:
    """ラベルの規則が形を比べる区間(R 波の前後)に入る点か。

    Parameters
    ----------
    t : np.ndarray
        R 波からの時刻 [s]。形状 (T,)
    label : LabelConfig
        形を比べる幅 qrs_before_s・qrs_after_s [s] を持つ規則。

    Returns
    -------
    np.ndarray
        区間に入る点なら True。形状 (T,)
    """
    return (t >= -label.qrs_before_s) & (t <= label.qrs_after_s)


@dataclass(frozen=True)
class BeatCalibration:
    """拍の分類器の確率の較正(テスト区間)。"""

    temperature: float  # 検証区間で決めた温度
    logits_val: np.ndarray  # 形状 (N_val,)
    logits_test: np.ndarray  # 形状 (N_test,)
    labels_val: np.ndarray  # 形状 (N_val,)
    labels_test: np.ndarray  # 形状 (N_test,)

    def prob(self, scaled: bool) -> np.ndarray:
        """テストの拍の異常の確率(scaled なら温度で割った後)。

        Parameters
        ----------
        scaled : bool
            True なら温度スケーリングの後、False なら前。

        Returns
        -------
        np.ndarray
            確率(0〜1)。形状 (N_test,)
        """
        t = self.temperature if scaled else 1.0
        return cal.sigmoid(self.logits_test / t)

    def ece(self, scaled: bool, n_bins: int = N_BINS) -> float:
        """テストの拍の ECE。

        Parameters
        ----------
        scaled : bool
            温度で割った後の確率を使うか。
        n_bins : int
            信頼性図のビンの数。

        Returns
        -------
        float
            期待較正誤差(0〜1)。
        """
        return cal.expected_calibration_error(
            self.prob(scaled), self.labels_test, n_bins
        )


def calibrate_beats(model: nn.Module, data: BeatData) -> BeatCalibration:
    """検証区間の拍で温度を決め、テストの拍のロジットと合わせて返す。

    Parameters
    ----------
    model : nn.Module
        学習済みの拍の分類器(:func:`train_beat_model` の結果)。
    data : BeatData
        検証区間とテスト区間の波形入力と正解。

    Returns
    -------
    BeatCalibration
        温度と、検証・テストのロジットと正解。
    """
    logits = {
        g: predict(model, data.X["waveform"][g]) for g in ("val", "test")
    }
    labels = {g: data.y[g].numpy().ravel() for g in ("val", "test")}
    t = cal.fit_temperature(logits["val"], labels["val"])
    return BeatCalibration(
        t, logits["val"], logits["test"], labels["val"], labels["test"]
    )


def log_loss_comparison(c: BeatCalibration) -> Comparison:
    """テストの拍の対数損失: 温度スケーリングの後 − 前(時間のブロック)。

    ブロックは BEAT_BLOCK 拍ずつ(隣り合う拍を独立なものとして数えない)。

    Parameters
    ----------
    c : BeatCalibration
        :func:`calibrate_beats` の結果(温度と、テストの拍のロジット・
        正解)。

    Returns
    -------
    Comparison
        拍あたりの対数損失 [nat] の差と、その 95% 区間。
    """
    y = c.labels_test
    loss = {
        s: np.logaddexp(0.0, z) - y * z
        for s, z in (
            (True, c.logits_test / c.temperature),
            (False, c.logits_test),
        )
    }
    blocks = time_blocks(len(y), BEAT_BLOCK)
    return compare_predictions(
        loss[True],
        loss[False],
        blocks,
        names=("温度スケーリングの後", "前"),
        metric="mae",
        unit_name="ブロック",
    )


def confident_errors(c: BeatCalibration, scaled: bool) -> tuple[int, int]:
    """自信のある判定(確率 ≥ 0.9 か ≤ 0.1)の数と、そのうちの誤り。

    Parameters
    ----------
    c : BeatCalibration
        テストの拍のロジットと正解、温度。
    scaled : bool
        温度スケーリングの後の確率で数えるか。

    Returns
    -------
    tuple[int, int]
        (自信のある判定の数, そのうち正解と違う数)。
    """
    p, y = c.prob(scaled), c.labels_test
    sure = (p >= CONFIDENT) | (p <= 1 - CONFIDENT)
    return int(sure.sum()), int(np.sum(sure & ((p >= 0.5) != (y == 1))))


# --- 予測区間 ------------------------------------------------------------


@dataclass(frozen=True)
class Intervals:
    """ある先の時刻の、テストの窓の区間 [mg/dL](どれも形状 (N,))。"""

    step: int  # 先(測定の回数)
    pred: np.ndarray  # アンサンブルの平均の予測
    target: np.ndarray  # 実測
    q: float  # コンフォーマルの半幅 [mg/dL]
    conformal: tuple[np.ndarray, np.ndarray]  # (下端, 上端)
    ensemble: tuple[np.ndarray, np.ndarray]  # (下端, 上端)

    def hits(self, method: str) -> np.ndarray:
        """区間が実測を含んだか。

        Parameters
        ----------
        method : str
            "conformal" か "ensemble"。

        Returns
        -------
        np.ndarray
            テストの窓ごとの真偽値。形状 (N,)
        """
        lower, upper = getattr(self, method)
        return conf.covered(self.target, lower, upper)

    def widths(self, method: str) -> np.ndarray:
        """区間の幅 [mg/dL]。

        Parameters
        ----------
        method : str
            区間の作り方("conformal" か "ensemble")。

        Returns
        -------
        np.ndarray
            上端 − 下端 [mg/dL]。形状 (N,)
        """
        lower, upper = getattr(self, method)
        return upper - lower


def make_intervals(
    ens: Ensemble, data: CGMData, step: int, alpha: float = ALPHA
) -> Intervals:
    """アンサンブルの平均を予測とし、2 通りの区間を付ける。

    コンフォーマルは検証の患者の窓の残差で幅を決める。

    Parameters
    ----------
    ens : Ensemble
        :func:`train_ensemble` の結果(検証とテストの予測)。
    data : CGMData
        検証とテストの窓の正解 [mg/dL]。
    step : int
        何回先か(1 回 = 5 分)。
    alpha : float
        名目の外れの割合。

    Returns
    -------
    Intervals
        その先の時刻のテストの窓の予測・実測・2 通りの区間。
    """
    h = step - 1
    val_mean, test_mean = ens.val_pred.mean(axis=0), ens.test_pred.mean(axis=0)
    lower, upper = conf.split_conformal(
        val_mean[:, h : h + 1],
        data.windows["val"].Y[:, h : h + 1],
        test_mean[:, h : h + 1],
        alpha,
    )
    ens_lo, ens_hi = conf.ensemble_interval(ens.test_pred[:, :, h], alpha)
    q = float(upper[0, 0] - test_mean[0, h])
    return Intervals(
        step,
        test_mean[:, h],
        data.windows["test"].Y[:, h],
        q,
        (lower[:, 0], upper[:, 0]),
        (ens_lo, ens_hi),
    )


def stretch(data: CGMData, center: int, half: int = 72) -> np.ndarray:
    """テストの窓 center と同じ区間の、前後 half 個までの窓の番号。

    テストの窓は 5 分ずつずれるので、half = 72 なら前後 6 時間。

    Parameters
    ----------
    data : CGMData
        テストの窓と、それぞれが属する連続した区間。
    center : int
        中心にするテストの窓の番号。
    half : int
        前後に取る窓の数の上限。

    Returns
    -------
    np.ndarray
        窓の番号(昇順)。形状 (n,)(n ≤ 2 × half + 1)
    """
    segment = data.windows["test"].segment
    k = np.arange(len(segment))
    return k[(segment == segment[center]) & (np.abs(k - center) <= half)]


def coverage_rows(
    intervals: dict[int, Intervals],
    patients: np.ndarray,
    alpha: float = ALPHA,
) -> list[dict[str, str]]:
    """表の行: 先・方法ごとの被覆率(患者単位の 95% 区間)と平均の幅。

    Parameters
    ----------
    intervals : dict[int, Intervals]
        先 → :func:`make_intervals` の結果。
    patients : np.ndarray
        テストの窓の患者の識別子。形状 (N,)
    alpha : float
        区間を作ったときの名目の外れの割合。

    Returns
    -------
    list[dict[str, str]]
        先と方法の組が 1 行(割合は % の文字列)。
    """
    names = {"conformal": "分割コンフォーマル", "ensemble": "深層アンサンブル"}
    rows = []
    for step, iv in intervals.items():
        for method, name in names.items():
            c = conf.miss_vs_nominal(iv.hits(method), patients, alpha)
            cov, low, high = conf.coverage_from(c, alpha)
            rows.append(
                {
                    "先": f"{step * PERIOD_MIN:.0f} 分",
                    "方法": name,
                    "被覆率 [%]": f"{100 * cov:.1f}",
                    "95% 区間 [%]": f"{100 * low:.1f} 〜 {100 * high:.1f}",
                    "名目 [%]": f"{100 * (1 - alpha):.0f}",
                    "平均の幅 [mg/dL]": f"{iv.widths(method).mean():.1f}",
                }
            )
    return rows


COVERAGE_WORDS = {
    "better": "名目より多く含んだ(外れが少ない)",
    "worse": "名目に届かない(外れが多い)",
    "cannot tell": "名目より多いか少ないかは判断できない",
}  # 外れた割合 − α の判定 → 本文の言葉


def coverage_words(c: Comparison | None) -> str:
    """:func:`conformal.miss_vs_nominal` の判定を本文の言葉にする。

    Parameters
    ----------
    c : Comparison or None
        外れた割合 − α の比較(患者が 1 人なら None)。

    Returns
    -------
    str
        COVERAGE_WORDS の言葉。
    """
    if c is None:
        return "患者が 1 人なので判定しない"
    return COVERAGE_WORDS[c.verdict]


def method_comparisons(
    iv: Intervals, patients: np.ndarray
) -> dict[str, Comparison]:
    """コンフォーマル − アンサンブル: 外れた割合と幅 [mg/dL] の差。

    Parameters
    ----------
    iv : Intervals
        比べる 2 通りの区間(同じ先の時刻)。
    patients : np.ndarray
        ブートストラップで引く単位(テストの窓の患者)。形状 (N,)

    Returns
    -------
    dict[str, Comparison]
        "miss"(外れた割合の差)と "width"(幅の差 [mg/dL])。
    """
    miss = {m: 1.0 - iv.hits(m) for m in ("conformal", "ensemble")}
    width = {m: iv.widths(m) for m in ("conformal", "ensemble")}
    names = ("分割コンフォーマル", "深層アンサンブル")
    return {
        key: compare_predictions(
            v["conformal"],
            v["ensemble"],
            patients,
            names=names,
            metric="mae",
            unit_name="患者",
        )
        for key, v in (("miss", miss), ("width", width))
    }


def patient_rows(
    intervals: dict[int, Intervals],
    data: CGMData,
    diagnoses: dict[str, str],
) -> list[dict[str, str]]:
    """表の行: テストの患者ごとの診断・入力の荒さ・コンフォーマルの被覆率。

    荒さは、入力窓の 5 分ごとの変化の標準偏差の中央値を、較正(検証)の
    窓の同じ値で割った比(1 より大きいほど較正の患者より荒い)。

    Parameters
    ----------
    intervals : dict[int, Intervals]
        先の時刻 → テストの窓の区間。
    data : CGMData
        検証とテストの入力窓と患者。
    diagnoses : dict[str, str]
        患者の識別子 → 診断。

    Returns
    -------
    list[dict[str, str]]
        テストの患者 1 人が 1 行(先ごとの被覆率の列を含む)。
    """
    cal_rough = np.median(input_volatility(data.windows["val"].X))
    test = data.windows["test"]
    rough = input_volatility(test.X)
    rows = []
    for sid in dict.fromkeys(test.subject.tolist()):
        mine = test.subject == sid
        row = {
            "患者": sid,
            "診断": diagnoses[sid],
            "窓の数": f"{int(mine.sum())}",
            "荒さの比": f"{np.median(rough[mine]) / cal_rough:.2f}",
        }
        for step, iv in intervals.items():
            hit = iv.hits("conformal")[mine]
            row[f"被覆率 {step * PERIOD_MIN:.0f} 分 [%]"] = (
                f"{100 * hit.mean():.1f}"
            )
        rows.append(row)
    return rows


def rough_window_coverage(
    iv: Intervals, data: CGMData, quantile: float = 0.9
) -> tuple[float, float, int]:
    """較正の窓の荒さの quantile 分位点より荒いテストの窓と、それ以外の
    コンフォーマルの被覆率と、荒い窓の数。

    Parameters
    ----------
    iv : Intervals
        コンフォーマルの区間を使う。
    data : CGMData
        較正(検証)とテストの入力窓 [mg/dL]。
    quantile : float
        「荒い」の線にする、較正の窓の荒さの分位(0〜1)。

    Returns
    -------
    tuple[float, float, int]
        (荒い窓の被覆率, それ以外の被覆率, 荒い窓の数)。
    """
    limit = np.quantile(input_volatility(data.windows["val"].X), quantile)
    rough = input_volatility(data.windows["test"].X) > limit
    hit = iv.hits("conformal")
    return (
        float(hit[rough].mean()),
        float(hit[~rough].mean()),
        int(rough.sum()),
    )


# --- 部分集団と過信 ------------------------------------------------------


def cgm_subgroups(
    ens: Ensemble,
    ar_pred: np.ndarray,
    data: CGMData,
    diagnoses: dict[str, str],
    step: int = STEP_30,
) -> dict[str, Subgroup]:
    """実測の血糖値の範囲ごと・診断ごとに、GRU(5 シード)と線形 AR の
    RMSE を患者単位で比べる。

    Parameters
    ----------
    ens : Ensemble
        GRU のテストの予測 [mg/dL]。形状 (n_members, N, n_ahead)
    ar_pred : np.ndarray
        線形 AR のテストの予測 [mg/dL]。形状 (N, n_ahead)
    data : CGMData
        テストの窓の正解と患者。
    diagnoses : dict[str, str]
        患者 → 診断(部分集団の名前になる)。
    step : int
        比べる先(何回先か)。

    Returns
    -------
    dict[str, Subgroup]
        部分集団の名前 → 大きさと比較。
    """
    test = data.windows["test"]
    target = test.Y[:, step - 1]
    diagnosis = np.array([diagnoses[s] for s in test.subject])
    masks = glucose_ranges(target)
    for name in sorted(set(diagnosis.tolist())):
        masks[f"診断: {name}"] = diagnosis == name
    return compare_in_subgroups(
        ens.test_pred[:, :, step - 1] - target,
        ar_pred[:, step - 1] - target,
        test.subject,
        masks,
        names=("GRU", "線形 AR"),
    )


def subgroup_rows(subgroups: dict[str, Subgroup]) -> list[dict[str, str]]:
    """表の行: 部分集団の大きさと、RMSE の差 GRU − 線形 AR の区間と判定。

    Parameters
    ----------
    subgroups : dict[str, Subgroup]
        :func:`cgm_subgroups` の結果。

    Returns
    -------
    list[dict[str, str]]
        部分集団 1 つが 1 行(患者が少なければ区間は「—」)。
    """
    rows = []
    for name, g in subgroups.items():
        c = g.comparison
        rows.append(
            {
                "部分集団": name,
                "窓": f"{g.n_windows}",
                "患者": f"{g.n_patients}",
                "RMSE の差": "—" if c is None else f"{c.mean_diff:+.2f}",
                "95% 区間": f"—(患者 {MIN_PATIENTS} 人未満)"
                if c is None
                else f"{c.low:+.2f} 〜 {c.high:+.2f}",
                "判定(GRU は)": "—" if c is None else c.verdict_ja,
            }
        )
    return rows


def hypo_coverage(iv: Intervals) -> dict[str, float]:
    """実測が低血糖の窓での、区間の振る舞い。

    Parameters
    ----------
    iv : Intervals
        ある先の時刻の予測・実測・コンフォーマルの区間 [mg/dL]。

    Returns
    -------
    dict
        n(窓の数)、covered(コンフォーマルが含んだ割合)、
        lower_warns(下端が 70 mg/dL 未満だった割合)、
        point_warns(予測そのものが 70 mg/dL 未満だった割合)、
        lower_false(実測が低血糖でない窓で、下端が 70 mg/dL 未満だった割合)。
    """
    low = iv.target < HYPO_MGDL
    lower = iv.conformal[0]
    return {
        "n": float(low.sum()),
        "covered": float(iv.hits("conformal")[low].mean()),
        "lower_warns": float(np.mean(lower[low] < HYPO_MGDL)),
        "point_warns": float(np.mean(iv.pred[low] < HYPO_MGDL)),
        "lower_false": float(np.mean(lower[~low] < HYPO_MGDL)),
    }


def hypo_vs_nominal(iv: Intervals, patients: np.ndarray) -> Comparison | None:
    """実測が低血糖の窓での、外れた割合 − α(患者が 2 人未満なら None)。

    Parameters
    ----------
    iv : Intervals
        コンフォーマルの区間と実測 [mg/dL]。
    patients : np.ndarray
        各テストの窓の患者。形状 (N,)

    Returns
    -------
    Comparison or None
        :func:`conformal.miss_vs_nominal` の結果(名目は ALPHA)。
    """
    low = iv.target < HYPO_MGDL
    if len(set(np.asarray(patients)[low].tolist())) < 2:
        return None
    return conf.miss_vs_nominal(
        iv.hits("conformal")[low], np.asarray(patients)[low], ALPHA
    )


def zone_coverage(iv: Intervals) -> dict[str, tuple[int, float]]:
    """予測の Clarke の領域ごとの、窓の数とコンフォーマルの被覆率。

    C〜E(治療を誤らせかねない領域)はまとめる。

    Parameters
    ----------
    iv : Intervals
        予測と実測 [mg/dL](領域を決める)とコンフォーマルの区間。

    Returns
    -------
    dict[str, tuple[int, float]]
        "A"・"B"・"C〜E" → (窓の数, 被覆率)。窓のない領域は入れない。
    """
    zones = clarke_zones(iv.target, iv.pred)
    zones = np.where(np.isin(zones, ["C", "D", "E"]), "C〜E", zones)
    hit = iv.hits("conformal")
    return {
        z: (int(np.sum(zones == z)), float(hit[zones == z].mean()))
        for z in ("A", "B", "C〜E")
        if np.any(zones == z)
    }


def overtrust_rows(
    hypo: dict[int, dict[str, float]],
    zones: dict[int, dict[str, tuple[int, float]]],
) -> list[dict[str, str]]:
    """表の行: 先ごとの、低血糖の窓と Clarke の領域ごとの被覆率 [%]。

    Parameters
    ----------
    hypo : dict[int, dict[str, float]]
        先 → :func:`hypo_coverage` の結果。
    zones : dict[int, dict[str, tuple[int, float]]]
        先 → :func:`zone_coverage` の結果。

    Returns
    -------
    list[dict[str, str]]
        先の時刻 1 つが 1 行。
    """
    rows = []
    for step, h in hypo.items():
        row = {
            "先": f"{step * PERIOD_MIN:.0f} 分",
            "低血糖の窓": f"{h['n']:.0f}",
            "区間が含んだ [%]": f"{100 * h['covered']:.1f}",
            "下端 < 70 [%]": f"{100 * h['lower_warns']:.1f}",
            "予測 < 70 [%]": f"{100 * h['point_warns']:.1f}",
        }
        for z in ("A", "B", "C〜E"):
            n, cov = zones[step].get(z, (0, float("nan")))
            row[f"{z} 領域の被覆率 [%](窓)"] = f"{100 * cov:.1f}({n})"
        rows.append(row)
    return rows


def subgroup_words(g: Subgroup) -> str:
    """部分集団の比較の判定を、本文の言葉にする(B は線形 AR)。

    Parameters
    ----------
    g : Subgroup
        :func:`cgm_subgroups` の 1 つの部分集団。

    Returns
    -------
    str
        判定の言葉(患者が少なく比較がなければ、判定しない旨)。
    """
    from .cgm import verdict_words

    if g.comparison is None:
        return f"患者が {MIN_PATIENTS} 人未満なので判定しない"
    return verdict_words(g.comparison.verdict, "線形 AR")


def temperature_words(temperature: float) -> str:
    """温度が探す範囲(exp(−3)〜exp(3))の端に張り付いたかを言う言葉。

    Parameters
    ----------
    temperature : float
        :func:`~medrnn.trust.calibration.fit_temperature` が決めた温度。

    Returns
    -------
    str
        下端・上端・内側のどれかを言う文。
    """
    low, high = np.exp(-3.0), np.exp(3.0)
    if temperature <= low * 1.001:
        return "探す範囲の下端に張り付いた値です"
    if temperature >= high * 0.999:
        return "探す範囲の上端に張り付いた値です"
    return "探す範囲の内側の値です"


def outside_a_missed(iv: Intervals) -> bool:
    """A 領域の外の予測で、実測が q / 0.2 以上の窓は、区間に入らないか。

    Parameters
    ----------
    iv : Intervals
        半幅 q のコンフォーマルの区間と、予測・実測 [mg/dL]。

    Returns
    -------
    bool
        そのような窓が 1 つも区間に入らなければ True。
    """
    zones = clarke_zones(iv.target, iv.pred)
    sure = (zones != "A") & (iv.target >= zone_a_floor(iv.q))
    return not np.any(iv.hits("conformal")[sure])


def zone_a_floor(q: float) -> float:
    """半幅 q の区間が Clarke の A 領域の幅(±20%)より狭くなる血糖値 [mg/dL]。

    q ≤ 0.2 × 血糖値 なので、血糖値 ≥ q / 0.2。

    Parameters
    ----------
    q : float
        コンフォーマルの区間の半幅 [mg/dL]。

    Returns
    -------
    float
        血糖値の下限 [mg/dL]。
    """
    return q / ZONE_A_REL


# --- 練習問題 ------------------------------------------------------------


def exercise_1(
    ens: Ensemble, data: CGMData, alphas: Sequence[float] = (0.1, 0.2)
) -> dict[float, tuple[float, float]]:
    """α を変えたときの、30 分先のコンフォーマルの被覆率と幅 [mg/dL]。

    Parameters
    ----------
    ens : Ensemble
        本文で学習したアンサンブル。
    data : CGMData
        較正とテストの窓。
    alphas : Sequence[float]
        試す名目の外れの割合。

    Returns
    -------
    dict[float, tuple[float, float]]
        α → (テストの被覆率, 区間の幅 [mg/dL])。
    """
    out = {}
    for alpha in alphas:
        iv = make_intervals(ens, data, STEP_30, alpha)
        hit = iv.hits("conformal")
        out[alpha] = (float(hit.mean()), float(iv.widths("conformal")[0]))
    return out


def exercise_2(
    ens: Ensemble, data: CGMData, step: int = STEP_30, alpha: float = ALPHA
) -> tuple[float, float]:
    """較正に訓練の患者の窓(学習に使った窓)を使ったときの、テストの
    被覆率と半幅 [mg/dL]。"""
    train_pred = np.mean(
        [forecast_mgdl(r.model, data, "train") for r in ens.runs],
        axis=0,
    )
    h = step - 1
    lower, upper = conf.split_conformal(
        train_pred[:, h : h + 1],
        data.windows["train"].Y[:, h : h + 1],
        ens.test_pred.mean(axis=0)[:, h : h + 1],
        alpha,
    )
    target = data.windows["test"].Y[:, h : h + 1]
    hit = conf.covered(target, lower, upper)
    return float(hit.mean()), float((upper - lower)[0, 0] / 2)


def exercise_3(
    c: BeatCalibration, bins: Sequence[int] = (5, 10)
) -> dict[int, tuple[float, float]]:
    """ビンの数を変えたときの、テストの拍の ECE(温度スケーリングの前, 後)。

    Parameters
    ----------
    c : BeatCalibration
        本文で較正した拍の分類器の結果。
    bins : Sequence[int]
        試すビンの数。

    Returns
    -------
    dict[int, tuple[float, float]]
        ビンの数 → (前の ECE, 後の ECE)。
    """
    return {n: (c.ece(False, n), c.ece(True, n)) for n in bins}


# --- 主張の検査 ----------------------------------------------------------


def _quantile_ok(iv: Intervals, ens: Ensemble, data: CGMData) -> bool:
    """半幅が、較正の残差の ⌈(n+1)(1−α)⌉ 番目の値に等しく、較正の窓の
    1 − α 以上を含むか。"""
    h = iv.step - 1
    scores = np.sort(
        np.abs(data.windows["val"].Y[:, h] - ens.val_pred.mean(axis=0)[:, h])
    )
    k = int(np.ceil((len(scores) + 1) * (1 - ALPHA)))
    inside = np.mean(scores <= iv.q + CLAIM_TOL)
    return abs(scores[k - 1] - iv.q) < 1e-6 * max(1.0, iv.q) and bool(
        inside >= 1 - ALPHA
    )


def check_claims(
    data: CGMData,
    ens: Ensemble,
    intervals: dict[int, Intervals],
    beats: BeatCalibration,
    ig_gaps: dict[str, tuple[float, float]],
) -> list[str]:
    """本文の頑健な主張のうち、成り立たないものの文を返す。

    Parameters
    ----------
    data : CGMData
        患者の分け方と、較正(検証)の窓の正解。
    ens : Ensemble
        GRU のアンサンブルの予測。
    intervals : dict[int, Intervals]
        先(30 分・60 分)→ 区間。
    beats : BeatCalibration
        拍の分類器の温度とロジット。
    ig_gaps : dict[str, tuple[float, float]]
        モデル → :func:`ig_completeness_gap` の (ずれ, 差の大きさ)。

    Returns
    -------
    list[str]
        成り立たない主張の文(すべて成り立てば空)。
    """
    sets = [set(data.groups[g]) for g in ("train", "val", "test")]
    widths = {s: iv.widths("conformal") for s, iv in intervals.items()}
    z = beats.logits_val
    claims = {
        "訓練・較正(検証)・テストの患者は重ならない": not (
            sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2]
        ),
        "コンフォーマルの半幅は較正の残差の ⌈(n+1)(1−α)⌉ 番目の値で、"
        "較正の窓の 1 − α 以上を含む": all(
            _quantile_ok(iv, ens, data) for iv in intervals.values()
        ),
        "コンフォーマルの区間の幅は、どのテストの窓でも同じ": all(
            np.ptp(w) < 1e-6 * max(1.0, w.max()) for w in widths.values()
        ),
        "60 分先のコンフォーマルの区間は 30 分先より広い": (
            widths[STEPS[1]][0] > widths[STEPS[0]][0]
        ),
        "A 領域の外の予測で、実測が半幅 / 0.2 以上の窓は区間に入らない": all(
            outside_a_missed(iv) for iv in intervals.values()
        ),
        "深層アンサンブルの区間の被覆率は、30 分先・60 分先とも 50% 未満": all(
            iv.hits("ensemble").mean() < ENSEMBLE_MAX_COVERAGE
            for iv in intervals.values()
        ),
        "温度スケーリングで、どの拍の判定も変わらない": beats.temperature > 0
        and np.array_equal(beats.logits_test > 0, beats.prob(True) > 0.5),
        "温度スケーリングで、検証の拍の対数損失は増えない": (
            cal.nll(z / beats.temperature, beats.labels_val)
            <= cal.nll(z, beats.labels_val) + CLAIM_TOL
        ),
        "統合勾配の帰属の合計は、予測と基準の窓の予測の差に一致する"
        "(ずれは差の大きさの 5% 未満)": all(
            gap < 0.05 * size for gap, size in ig_gaps.values()
        ),
    }
    return failed(claims)


def _print_rows(rows: list[dict[str, str]]) -> None:
    from ..core.notebook import rows_to_markdown

    print(rows_to_markdown(rows))


def report(seed: int = 0, n_seeds: int = 5) -> None:
    """章の主な結果(帰属の健全性・予測区間・較正・部分集団)を表示する。

    CGM の GRU はシード seed, ..., seed + n_seeds − 1 で学習する
    (アンサンブルには 2 つ以上が必要)。拍の分類器はシード seed。

    Parameters
    ----------
    seed : int
        最初のシード(拍の分類器と、無作為化の検査にも使う)。
    n_seeds : int
        アンサンブルのメンバーの数(2 以上)。
    """
    from ..cgm.data import load_hall
    from ..cgm.tasks import linear_ar_forecast, prepare_cgm
    from ..ecg import record as ecg
    from ..ecg.tasks import prepare_beats
    from .cgm import CHAPTER_FORECAST, CHAPTER_SPLIT
    from .ecg import CHAPTER_SPLIT as ECG_SPLIT

    if n_seeds < 2:
        raise ValueError(f"n_seeds は 2 以上にしてください({n_seeds})")
    subjects = load_hall()
    diagnoses = {s.subject_id: s.diagnosis for s in subjects}
    data = prepare_cgm(subjects, CHAPTER_SPLIT, CHAPTER_FORECAST)
    ens = train_ensemble(data, range(seed, seed + n_seeds))
    model = ens.runs[0].model
    idx = explain_windows(len(data.windows["test"].X))
    x = data.inputs("test")[idx]
    n_train = len(data.windows["train"].X)
    refs = data.inputs("train")[explain_windows(n_train, N_REFERENCES)]
    x_ecg = ecg.load_ecg()
    table = ecg.label_beats(
        x_ecg,
        ecg.detect_r_peaks(x_ecg),
        template_until=ECG_SPLIT.bounds(len(x_ecg))["train"][1],
    )
    beats = prepare_beats(x_ecg, table, CHAPTER_BEATS)
    beat_model = train_beat_model(beats, seed)
    xb, refs_b = beats.X["waveform"]["test"], beats.X["waveform"]["train"]
    base = torch.zeros(xb.shape[1:])
    beat_attr = {
        m: ex.attribute(beat_model, xb, m, base, 0, refs_b) for m in ex.METHODS
    }
    sims = {
        "CGM(30 分先)": randomization_similarity(
            model, x, STEP_30 - 1, refs, seed
        ),
        "心電図の拍": randomization_similarity(
            beat_model, xb, 0, refs_b, seed
        ),
    }
    likeness = {
        "CGM(30 分先)": input_likeness(cgm_attributions(model, data, idx), x),
        "心電図の拍": input_likeness(beat_attr, xb),
    }
    print("帰属の健全性の検査(層を引き直した後の、元の帰属との順位相関):")
    _print_rows(randomization_rows(sims, likeness))
    intervals = {s: make_intervals(ens, data, s) for s in STEPS}
    patients = data.windows["test"].subject
    print(f"予測区間(名目 {100 * (1 - ALPHA):.0f}%、テストの患者):")
    _print_rows(coverage_rows(intervals, patients))
    _print_rows(patient_rows(intervals, data, diagnoses))
    print("部分集団(30 分先、RMSE の差 GRU − 線形 AR [mg/dL]):")
    groups = cgm_subgroups(ens, linear_ar_forecast(data), data, diagnoses)
    _print_rows(subgroup_rows(groups))
    print("低血糖の窓と Clarke の領域ごとのコンフォーマルの区間:")
    _print_rows(
        overtrust_rows(
            {s: hypo_coverage(iv) for s, iv in intervals.items()},
            {s: zone_coverage(iv) for s, iv in intervals.items()},
        )
    )
    c = calibrate_beats(beat_model, beats)
    print(
        f"拍の確率: 温度 {c.temperature:.3f}、ECE {c.ece(False):.3f} → "
        f"{c.ece(True):.3f}"
    )
    gaps = {
        "cgm": ig_completeness_gap(model, x, STEP_30 - 1),
        "ecg": ig_completeness_gap(beat_model, xb, 0),
    }
    problems = check_claims(data, ens, intervals, c, gaps)
    from ..core.claims import claims_summary

    print("本文の主張の検査:", claims_summary(problems))
