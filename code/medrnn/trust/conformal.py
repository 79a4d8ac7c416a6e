"""分割コンフォーマル予測(split conformal prediction)の予測区間。

較正の組(本書では検証の患者)の残差の絶対値から分位点 q を 1 つ決め、
新しい予測に ±q の幅を付ける。較正の窓とテストの窓が交換可能
(exchangeable)なら、区間が正解を含む割合(被覆率)は平均として
1 − α 以上になる。患者が違えば交換可能とは限らないので、本書は被覆率を
テストの患者で測り、患者単位のブートストラップの区間を付けて報告する。
"""

from __future__ import annotations

import numpy as np

from ..core.compare import Comparison, compare_predictions


def _check_scores(scores: np.ndarray, alpha: float) -> np.ndarray:
    """scores が空でない有限な 1 次元以上の配列で、0 < alpha < 1 か。"""
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0 or not np.all(np.isfinite(s)):
        raise ValueError("scores は空でない有限な値の配列にしてください")
    if not (np.isfinite(alpha) and 0 < alpha < 1):
        raise ValueError(
            f"alpha は 0 と 1 の間にしてください(受け取った値: {alpha})"
        )
    return s


def conformal_quantile(scores: np.ndarray, alpha: float) -> np.ndarray:
    """較正の残差 scores(形状 (n, ...))の、補正した 1 − α 分位点。

    n 個の中で小さい方から ⌈(n + 1)(1 − α)⌉ 番目の値。これが n を
    超えるとき(較正が少なすぎる)は無限大(区間は全体)にする。

    Parameters
    ----------
    scores : np.ndarray
        較正の組の残差の絶対値(有限)。形状 (n, ...)
    alpha : float
        許す外れの割合(0 < alpha < 1)。

    Returns
    -------
    np.ndarray
        形状 (...)(先の時刻ごとなど、最初の軸以外の形)
    """
    s = _check_scores(scores, alpha)
    n = s.shape[0]
    k = int(np.ceil((n + 1) * (1 - alpha)))  # 何番目の値か(1 から数える)
    if k > n:
        return np.full(s.shape[1:], np.inf)
    return np.sort(s, axis=0)[k - 1]


def split_conformal(
    cal_pred: np.ndarray,
    cal_target: np.ndarray,
    test_pred: np.ndarray,
    alpha: float,
) -> tuple[np.ndarray, np.ndarray]:
    """較正の組の残差から幅を決め、テストの予測に区間を付ける。

    Parameters
    ----------
    cal_pred, cal_target : np.ndarray
        較正の組の予測と正解。形状 (n_cal, n_ahead)
    test_pred : np.ndarray
        区間を付けるテストの予測。形状 (N, n_ahead)
    alpha : float
        名目の外れの割合(被覆率の目標は 1 − alpha)。

    Returns
    -------
    lower, upper : 形状 (N, n_ahead)
        区間の下端と上端(予測と同じ単位)。
    """
    scores = np.abs(np.asarray(cal_target) - np.asarray(cal_pred))
    q = conformal_quantile(scores, alpha)  # (n_ahead,)
    return test_pred - q, test_pred + q


def ensemble_interval(
    member_preds: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """シードの違うモデルの予測の平均 ± z・標準偏差の区間(深層アンサンブル)。

    member_preds: 形状 (n_members, N, ...)。正規分布の 1 − α の
    両側の z を使う。モデルどうしの食い違い(認識の不確かさ)しか見ない
    ので、測定の雑音や食事のような、どのモデルにも読めない変動は入らない。

    Returns
    -------
    lower, upper : 形状 (N, ...)
    """
    from scipy import stats as _st

    p = _check_scores(member_preds, alpha)
    if p.ndim < 2 or len(p) < 2:
        raise ValueError(
            "member_preds は形状 (n_members >= 2, N, ...) にしてください"
        )
    z = float(_st.norm.ppf(1 - alpha / 2))
    mean, sd = p.mean(axis=0), p.std(axis=0, ddof=1)
    return mean - z * sd, mean + z * sd


def covered(
    target: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> np.ndarray:
    """正解が区間 [lower, upper] に入ったか(真偽値)。

    端ちょうどの正解も、区間に入ったとみなす。

    Parameters
    ----------
    target : np.ndarray
        正解。形状は任意(例えば (N, n_ahead))
    lower, upper : np.ndarray
        区間の下端と上端(target と同じ単位・同じ形状)。

    Returns
    -------
    np.ndarray
        区間に入ったか(bool)。形状は target と同じ。
    """
    t, lo, hi = (
        np.asarray(v, dtype=np.float64) for v in (target, lower, upper)
    )
    if not t.shape == lo.shape == hi.shape:
        raise ValueError(
            f"target・lower・upper は同じ形状にしてください"
            f"(受け取った形状: {t.shape}, {lo.shape}, {hi.shape})"
        )
    return (lo <= t) & (t <= hi)


def miss_vs_nominal(
    hit: np.ndarray, patients: np.ndarray, alpha: float, n_boot: int = 2000
) -> Comparison:
    """外れた割合 − α を、患者単位のブートストラップの区間付きで求める。

    hit: 各窓で区間が正解を含んだか。形状 (N,)。
    :func:`medrnn.core.compare.compare_predictions` に「外れ(0/1)」と
    「いつも α」の 2 つを誤差として渡し、MAE の差として計算する。
    差が負(判定「良い」)なら名目より外れが少ない、正なら多い。

    Returns
    -------
    Comparison
        外れた割合 − α(MAE の差)と、その 95% 区間。
    """
    miss = 1.0 - np.asarray(hit, dtype=np.float64)
    return compare_predictions(
        miss,
        np.full(miss.shape, alpha),
        groups=patients,
        names=("外れた割合", f"名目の {alpha:g}"),
        metric="mae",
        n_boot=n_boot,
        unit_name="患者",
    )


def coverage_from(c: Comparison, alpha: float) -> tuple[float, float, float]:
    """:func:`miss_vs_nominal` の結果から、被覆率とその 95% 区間。

    Parameters
    ----------
    c : Comparison
        :func:`miss_vs_nominal` が返した比較。
    alpha : float
        その比較に使った名目の外れの割合。

    Returns
    -------
    (coverage, low, high)
        被覆率 = 1 − 外れた割合。区間は患者単位のブートストラップ。
    """
    nominal = 1 - alpha
    return nominal - c.mean_diff, nominal - c.high, nominal - c.low
