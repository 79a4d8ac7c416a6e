"""2 値分類の確率の較正: 信頼性図・ECE・温度スケーリング。

「異常の確率 0.8」と出た拍の 8 割が本当に異常なら、その確率は較正されて
いる。信頼性図は確率を区間(ビン)に分け、ビンごとの平均の確率と実際の
割合を並べる。ECE はそのずれを拍の数で重み付けして平均したもの。
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar


def _check_prob_labels(
    prob: np.ndarray, labels: np.ndarray, n_bins: int
) -> tuple[np.ndarray, np.ndarray]:
    """prob が [0, 1] の 1 次元、labels が同じ長さの 0/1 か。"""
    p = np.asarray(prob, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    if p.shape != y.shape or p.size == 0:
        raise ValueError(
            f"prob と labels は同じ長さの空でない配列にしてください"
            f"(受け取った形状: {p.shape}, {y.shape})"
        )
    if not (np.all((p >= 0) & (p <= 1)) and np.all((y == 0) | (y == 1))):
        raise ValueError("prob は 0〜1、labels は 0 か 1 にしてください")
    if n_bins < 1:
        raise ValueError(f"n_bins は 1 以上にしてください({n_bins})")
    return p, y


def reliability_bins(
    prob: np.ndarray, labels: np.ndarray, n_bins: int = 5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """確率を等幅のビンに分け、ビンごとの平均の確率・実際の割合・数。

    Parameters
    ----------
    prob : np.ndarray
        予測した陽性(異常)の確率(0〜1)。形状 (n,)
    labels : np.ndarray
        正解(0 か 1)。形状 (n,)
    n_bins : int
        [0, 1] を等分するビンの数(1 以上)。

    Returns
    -------
    mean_prob, frac_pos, count : 形状 (n_bins,)
        空のビンの平均と割合は NaN。
    """
    p, y = _check_prob_labels(prob, labels, n_bins)
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)  # 1.0 は最後へ
    count = np.bincount(bins, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_prob = np.bincount(bins, p, n_bins) / count
        frac_pos = np.bincount(bins, y, n_bins) / count
    return mean_prob, frac_pos, count


def expected_calibration_error(
    prob: np.ndarray, labels: np.ndarray, n_bins: int = 5
) -> float:
    """ECE = Σ_b (n_b / n) |平均の確率_b − 実際の割合_b|(空のビンは除く)。

    Parameters
    ----------
    prob, labels, n_bins
        確率・正解・ビンの数(:func:`reliability_bins` と同じ)。

    Returns
    -------
    float
        期待較正誤差(0 以上 1 以下。0 なら完全に較正されている)。
    """
    mean_prob, frac_pos, count = reliability_bins(prob, labels, n_bins)
    used = count > 0
    gap = np.abs(mean_prob[used] - frac_pos[used])
    return float(np.sum(count[used] * gap) / count.sum())


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """ロジット → 確率(数値的に安定な形)。

    Parameters
    ----------
    logits : np.ndarray
        シグモイドに通す前の値。形状は任意。

    Returns
    -------
    np.ndarray
        確率 1 / (1 + exp(−logits))(float64)。形状は logits と同じ。
    """
    z = np.asarray(logits, dtype=np.float64)
    return np.exp(-np.logaddexp(0.0, -z))


def nll(logits: np.ndarray, labels: np.ndarray) -> float:
    """重みなしの 2 値の交差エントロピー(負の対数尤度)の平均。

    Parameters
    ----------
    logits : np.ndarray
        陽性のロジット。形状 (n,)(平らにして使う)
    labels : np.ndarray
        正解(0 か 1)。logits と同じ数。

    Returns
    -------
    float
        1 例あたりの負の対数尤度 [nat]。
    """
    z = np.asarray(logits, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """検証の組で、ロジットを割る温度 T > 0 を負の対数尤度の最小で決める。

    確率は sigmoid(ロジット / T)。T > 1 なら確率を 0.5 の側へ縮める。
    判定(ロジットの符号)は変わらないので、感度・特異度も変わらない。

    Parameters
    ----------
    logits : np.ndarray
        検証の組のロジット。形状 (n,)
    labels : np.ndarray
        検証の組の正解(0/1)。形状 (n,)

    Returns
    -------
    float
        温度 T(exp(−3)〜exp(3) の範囲で探す)。
    """
    _check_prob_labels(sigmoid(logits), labels, 1)
    result = minimize_scalar(
        lambda log_t: nll(np.asarray(logits) / np.exp(log_t), labels),
        bounds=(-3.0, 3.0),
        method="bounded",
    )
    return float(np.exp(result.x))
