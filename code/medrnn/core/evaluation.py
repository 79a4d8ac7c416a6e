"""評価指標と、ニューラルネットと比べるための単純な基準(ベースライン)。"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


def predict(model: nn.Module, X: torch.Tensor) -> np.ndarray:
    """全窓を 1 回の順伝播でまとめて予測する(勾配は計算しない)。

    Parameters
    ----------
    model : nn.Module
        学習済みのモデル。
    X : torch.Tensor
        入力窓。形状 (N, seq_len, input_size)

    Returns
    -------
    np.ndarray
        予測値。形状 (N,)(出力が 1 つのとき)か (N, output_size)
    """
    model.eval()  # ドロップアウトなどを評価用の動作にする
    with torch.inference_mode():  # 勾配の記録をしない
        out = model(X).cpu().numpy().reshape(len(X), -1)
    return out[:, 0] if out.shape[1] == 1 else out


def errors(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """予測の誤差 ŷ_i - y_i(float64)。形と中身を確かめてから計算する。

    Parameters
    ----------
    pred, target : np.ndarray
        予測と正解。同じ形状 (N,) または (N, k)

    Returns
    -------
    np.ndarray
        誤差。pred と同じ形状

    Raises
    ------
    ValueError
        形状が違うか、空の配列のとき。
    """
    p, t = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    if p.shape != t.shape:
        raise ValueError(f"予測 {p.shape} と正解 {t.shape} の形状が違います")
    if p.size == 0:
        raise ValueError("空の配列では誤差を計算できません")
    return p - t


def mse(pred: np.ndarray, target: np.ndarray) -> float:
    """平均二乗誤差 (1/N) Σ (y_i - ŷ_i)²(元の単位の 2 乗)。

    Parameters
    ----------
    pred, target : np.ndarray
        予測と正解。形状と例外は :func:`errors` と同じ。

    Returns
    -------
    float
        MSE。
    """
    return float(np.mean(errors(pred, target) ** 2))


def rmse(pred: np.ndarray, target: np.ndarray) -> float:
    """二乗平均平方根誤差。MSE の平方根で、元のデータと同じ単位になる。

    Parameters
    ----------
    pred, target : np.ndarray
        予測と正解(そのまま :func:`mse` に渡す)。

    Returns
    -------
    float
        RMSE(元の単位)。
    """
    return float(np.sqrt(mse(pred, target)))


def persistence_forecast(X: torch.Tensor) -> np.ndarray:
    """「次の値は直前の値と同じ」という予測。形状 (N,)

    Parameters
    ----------
    X : torch.Tensor
        入力窓。形状 (N, seq_len, input_size)(チャネル 0 を使う)

    Returns
    -------
    np.ndarray
        予測(float64)。形状 (N,)
    """
    return X[:, -1, 0].cpu().numpy().astype(np.float64)


def window_mean_forecast(X: torch.Tensor) -> np.ndarray:
    """「次の値は窓の平均」という予測(チャネル 0 の平均)。

    Parameters
    ----------
    X : torch.Tensor
        :func:`persistence_forecast` と同じ入力窓。

    Returns
    -------
    np.ndarray
        窓ごとの平均(float64)。形状 (N,)
    """
    return X[:, :, 0].mean(dim=1).cpu().numpy().astype(np.float64)


@dataclass(frozen=True)
class LinearAR:
    """窓の値の一次結合 + 切片で次の値を予測する線形自己回帰モデル。

    入力が複数のチャネルなら、全チャネル・全時刻の値を並べて使う(多変量の線形自己回帰)。
    """

    # 係数。形状 (seq_len * input_size,)(時刻ごとにチャネルが並ぶ)
    coef: np.ndarray
    intercept: float  # 切片

    @classmethod
    def fit(
        cls, X: torch.Tensor, y: torch.Tensor, ridge: float = 0.0
    ) -> LinearAR:
        """最小二乗法(閉じた形の解)で係数を求める。

        ridge > 0 なら、係数(切片を除く)に ridge × 窓の数 の
        リッジ正則化をかける。
        """
        A = _flat_windows(X)  # (N, T * input_size)
        A = np.column_stack([A, np.ones(len(A))])  # 切片の列を足す
        b = y[:, 0].cpu().numpy().astype(np.float64)
        if len(A) < A.shape[1]:
            raise ValueError(
                f"窓の数 {len(A)} が係数の数 {A.shape[1]} より少なく、"
                "解けません"
            )
        if ridge > 0:
            penalty = ridge * len(A) * np.eye(A.shape[1])
            penalty[-1, -1] = 0.0  # 切片には罰則をかけない
            sol = np.linalg.solve(A.T @ A + penalty, A.T @ b)
        else:
            sol, *_ = np.linalg.lstsq(A, b, rcond=None)
        return cls(coef=sol[:-1], intercept=float(sol[-1]))

    def predict(self, X: torch.Tensor) -> np.ndarray:
        """形状 (N,) の予測を返す。

        Parameters
        ----------
        X : torch.Tensor
            入力窓。形状 (N, seq_len, input_size)

        Returns
        -------
        np.ndarray
            予測(float64)。形状 (N,)
        """
        return _flat_windows(X) @ self.coef + self.intercept


def _flat_windows(X: torch.Tensor) -> np.ndarray:
    """窓 (N, seq_len, input_size) を (N, seq_len * input_size) の
    float64 の配列にする。
    """
    return X.flatten(start_dim=1).cpu().numpy().astype(np.float64)


def mae(pred: np.ndarray, target: np.ndarray) -> float:
    """平均絶対誤差 (1/N) Σ |y_i - ŷ_i|(元の単位)。

    Parameters
    ----------
    pred, target : np.ndarray
        予測と正解(:func:`errors` で誤差にしてから平均する)。

    Returns
    -------
    float
        MAE。
    """
    return float(np.mean(np.abs(errors(pred, target))))


def mean_std(values: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """平均と標準偏差(不偏、ddof=1)。

    Parameters
    ----------
    values : Sequence[float] or np.ndarray
        値の並び(シードごとの結果など)。形状 (n,)、n >= 2

    Returns
    -------
    mean, std : float
        平均と不偏標準偏差。
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.size < 2:
        raise ValueError(
            f"標準偏差には 2 つ以上の値が必要です(受け取った数: {arr.size})"
        )
    return float(arr.mean()), float(arr.std(ddof=1))


def mean_std_text(
    values: Sequence[float] | np.ndarray, digits: int = 1
) -> str:
    """「平均 ± 標準偏差」の表示(:func:`mean_std`)。値が 1 つなら平均だけ。

    Parameters
    ----------
    values : Sequence[float] or np.ndarray
        値の並び。形状 (n,)、n >= 1
    digits : int
        小数点以下の桁数。

    Returns
    -------
    str
        例: "12.3 ± 0.4"
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 1:
        return f"{arr.item():.{digits}f}"
    mean, std = mean_std(arr)
    return f"{mean:.{digits}f} ± {std:.{digits}f}"
