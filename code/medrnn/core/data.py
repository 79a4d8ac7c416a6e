"""データの生成・分割・窓切り出し・標準化。

本書のおもちゃデータは「ノイズを加えたサイン波」で、心拍数などの
バイタルサインの代わりとして使う。
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class SineConfig:
    """ノイズ付きサイン波の設定。

    時刻は ``linspace(t_start, t_stop, n_points)``。
    """

    n_points: int = 200  # データ点の数
    t_start: float = 0.0  # 最初の時刻
    t_stop: float = 10 * math.pi  # 最後の時刻(この値を含む)
    noise_std: float = 0.2  # ガウスノイズの標準偏差 σ
    seed: int = 0  # ノイズの乱数シード

    def __post_init__(self) -> None:
        """設定の値が使えるかを確かめる(使えなければ ValueError)。"""
        if self.n_points < 2:
            raise ValueError(
                "n_points は 2 以上にしてください"
                f"(受け取った値: {self.n_points})"
            )
        if not self.t_stop > self.t_start:
            raise ValueError(
                "t_stop は t_start より大きくしてください"
                f"(t_start={self.t_start}, t_stop={self.t_stop})"
            )
        if not (math.isfinite(self.noise_std) and self.noise_std >= 0):
            raise ValueError(
                "noise_std は 0 以上の有限値にしてください"
                f"(受け取った値: {self.noise_std})"
            )
        if self.seed < 0:
            raise ValueError(
                f"seed は 0 以上にしてください(受け取った値: {self.seed})"
            )

    @property
    def noise_variance(self) -> float:
        """ノイズの分散 σ²。一歩先予測の MSE の理論的な下限(ノイズフロア)。"""
        return self.noise_std**2


RNN_SINE = SineConfig()  # RNN の章: 0〜10π を 200 点
# LSTM の章: 0〜99.9 を 0.1 刻み
LSTM_SINE = SineConfig(n_points=1000, t_stop=99.9)


def make_noisy_sine(config: SineConfig) -> tuple[np.ndarray, np.ndarray]:
    """ノイズ付きサイン波を作る。

    Parameters
    ----------
    config : SineConfig
        点の数・時刻の範囲・ノイズの標準偏差・シード。

    Returns
    -------
    t : np.ndarray
        時刻。形状 (n_points,)
    y : np.ndarray
        観測値 sin(t) + ε, ε ~ N(0, σ²)。形状 (n_points,)、float32
    """
    t = np.linspace(config.t_start, config.t_stop, config.n_points)
    rng = np.random.default_rng(config.seed)
    noise = rng.normal(0.0, config.noise_std, size=config.n_points)
    return t, (np.sin(t) + noise).astype(np.float32)


def _check_series(series: np.ndarray) -> np.ndarray:
    """1 次元で有限値だけの系列かを確かめて NumPy 配列で返す。"""
    arr = np.asarray(series)
    if arr.ndim != 1:
        raise ValueError(
            f"系列は 1 次元にしてください(受け取った形状: {arr.shape})"
        )
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"系列に NaN または無限大が {bad} 個含まれています")
    return arr


def split_ordered(
    series: np.ndarray, train_ratio: float = 0.8
) -> tuple[np.ndarray, np.ndarray]:
    """時間順を保ったまま前半を訓練、後半をテストに分ける(シャッフルしない)。

    Parameters
    ----------
    series : np.ndarray
        1 次元の系列。形状 (n,)
    train_ratio : float
        訓練に使う割合。0 より大きく 1 より小さい。

    Returns
    -------
    train : np.ndarray
        前半。形状 (int(n * train_ratio),)
    test : np.ndarray
        後半。形状 (n - len(train),)

    Raises
    ------
    ValueError
        系列が 1 次元の有限値でないか、どちらかが空になるとき。
    """
    arr = _check_series(series)
    if not 0.0 < train_ratio < 1.0:
        raise ValueError(
            "train_ratio は 0 と 1 の間にしてください"
            f"(受け取った値: {train_ratio})"
        )
    n_train = int(len(arr) * train_ratio)
    if n_train == 0 or n_train == len(arr):
        raise ValueError(
            f"長さ {len(arr)} の系列を割合 {train_ratio} で分けると"
            "片方が空になります"
        )
    return arr[:n_train], arr[n_train:]


# ---- 窓の切り出し(本書の窓はすべてこの 4 つの関数で作る) ----


def _check_window_sizes(seq_len: int, horizon: int, stride: int) -> None:
    """窓の長さ・何点先か・ずらす幅が、どれも 1 以上の整数かを確かめる。"""
    for name, v in (
        ("seq_len", seq_len),
        ("horizon", horizon),
        ("stride", stride),
    ):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(
                f"{name} は 1 以上の整数にしてください(受け取った値: {v})"
            )


def window_ends(
    start: int, stop: int, seq_len: int, horizon: int = 1, stride: int = 1
) -> np.ndarray:
    """区間 [start, stop) に窓と horizon 点先の正解がまるごと収まる、
    各窓の最後の点の番号。

    Parameters
    ----------
    start, stop : int
        区間の始まりと終わり(stop は含まない)。
    seq_len, horizon, stride : int
        窓の長さ・何点先を予測するか・窓をずらす幅(どれも 1 以上)。

    Returns
    -------
    np.ndarray
        窓の最後の点の番号。形状 (N,)。区間が短ければ N = 0
    """
    _check_window_sizes(seq_len, horizon, stride)
    return np.arange(start + seq_len - 1, stop - horizon, stride)


def window_positions(ends: np.ndarray, seq_len: int) -> np.ndarray:
    """窓の各点の番号。窓 i は ends[i] で終わる seq_len 点。

    Parameters
    ----------
    ends : np.ndarray
        各窓の最後の点の番号(seq_len - 1 以上)。形状 (N,)
    seq_len : int
        窓の長さ。

    Returns
    -------
    np.ndarray
        点の番号。形状 (N, seq_len)
    """
    e = np.asarray(ends, dtype=np.int64)
    if seq_len < 1 or e.ndim != 1 or (len(e) and e.min() < seq_len - 1):
        raise ValueError(
            f"ends は 1 次元で seq_len - 1 = {seq_len - 1} 以上、"
            f"seq_len は 1 以上にしてください"
        )
    return e[:, None] - seq_len + 1 + np.arange(seq_len)


def windows_at(x: np.ndarray, ends: np.ndarray, seq_len: int) -> np.ndarray:
    """系列 x から、ends[i] で終わる長さ seq_len の窓を取り出して並べる。

    Parameters
    ----------
    x : np.ndarray
        系列。形状 (n,) または (n, n_channels)
    ends : np.ndarray
        各窓の最後の点の番号。形状 (N,)
    seq_len : int
        窓の長さ。

    Returns
    -------
    np.ndarray
        窓(コピー)。形状 (N, seq_len) または (N, seq_len, n_channels)
    """
    first = window_positions(ends, seq_len)[:, 0]
    if len(first) and first.max() + seq_len > len(x):
        raise ValueError(f"長さ {len(x)} の系列の外にはみ出す窓があります")
    if len(x) < seq_len:  # 窓が 0 個のとき
        return np.empty((0, seq_len, *np.shape(x)[1:]), dtype=x.dtype)
    view = np.lib.stride_tricks.sliding_window_view(x, seq_len, axis=0)
    # view[i] は i から始まる窓(点の軸が最後)。形状 (m, *チャネル, T)
    return np.ascontiguousarray(np.moveaxis(view[first], -1, 1))


def forecast_windows(
    series: np.ndarray,
    seq_len: int,
    horizon: int = 1,
    start: int = 0,
    stop: int | None = None,
    stride: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """区間 [start, stop) の中だけで、入力窓と horizon 点先の正解の位置を作る。

    Parameters
    ----------
    series : 系列。形状 (n,) か (n, n_channels)
    seq_len, horizon, stride : 窓の長さ・何点先を予測するか・ずらす幅
    start, stop : 区間(stop は含まない。None なら系列の終わり)

    Returns
    -------
    X, target_index : 入力窓 (N, seq_len[, n_channels]) と正解の位置 (N,)
    """
    x = np.asarray(series)
    stop = len(x) if stop is None else stop
    _check_interval(start, stop, len(x), seq_len + horizon)
    ends = window_ends(start, stop, seq_len, horizon, stride)
    return windows_at(x, ends, seq_len), ends + horizon


def _check_interval(start: int, stop: int, n: int, need: int) -> None:
    """0 <= start < stop <= n で、区間に窓と正解の need 点が入るか。"""
    if not 0 <= start < stop <= n:
        raise ValueError(
            f"0 <= start < stop <= {n} にしてください"
            f"(受け取った値: {start}, {stop})"
        )
    if stop - start < need:
        raise ValueError(
            f"区間の長さ {stop - start} では窓を作れません"
            f"(窓と正解で {need} 点が必要です)"
        )


def make_windows(
    series: np.ndarray, seq_len: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """長さ seq_len の窓と、その直後の 1 点(正解)の組をすべて作る。

    Parameters
    ----------
    series : np.ndarray, 形状 (n,)
    seq_len : int
        窓の長さ(n より小さい正の整数)。

    Returns
    -------
    X : torch.Tensor
        入力窓。形状 (n - seq_len, seq_len, 1)
    y : torch.Tensor
        窓の直後の値。形状 (n - seq_len, 1)
    """
    arr = _check_series(series).astype(np.float32)
    windows, target = forecast_windows(arr, seq_len, horizon=1)
    X = torch.from_numpy(windows).unsqueeze(-1)  # (N, T, 1)
    y = torch.from_numpy(arr[target]).unsqueeze(-1)  # (N, 1)
    return X, y


@dataclass(frozen=True)
class Standardizer:
    """訓練データだけから平均と標準偏差を求めて標準化する(列ごと)。"""

    mean: np.ndarray  # 列ごとの平均。形状 (n_features,)
    std: np.ndarray  # 列ごとの標準偏差。形状 (n_features,)

    @classmethod
    def fit(cls, train: np.ndarray) -> Standardizer:
        """訓練データ(形状 (n, n_features))から統計量を求める。

        Parameters
        ----------
        train : np.ndarray
            訓練データ。形状 (n, n_features)、n >= 2

        Returns
        -------
        Standardizer
        """
        arr = np.asarray(train, dtype=np.float64)
        if arr.ndim != 2 or len(arr) < 2:
            raise ValueError(
                "train は形状 (n>=2, n_features) にしてください"
                f"(受け取った形状: {arr.shape})"
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError("train に NaN または無限大が含まれています")
        std = arr.std(axis=0)
        if np.any(std == 0):
            raise ValueError("分散が 0 の列があり、標準化できません")
        return cls(mean=arr.mean(axis=0), std=std)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """(x - 平均) / 標準偏差。形状 (n, n_features) のまま返す。

        Parameters
        ----------
        x : np.ndarray
            元の単位の値。形状 (n, n_features)

        Returns
        -------
        np.ndarray
            標準化した値(float64)。形状 (n, n_features)
        """
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.std

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        """標準化を元の単位に戻す(:meth:`transform` の逆)。

        Parameters
        ----------
        z : np.ndarray, 形状 (n, n_features)
            標準化した値。

        Returns
        -------
        np.ndarray, 形状 (n, n_features)
            元の単位の値(float64)。
        """
        return np.asarray(z, dtype=np.float64) * self.std + self.mean


def make_vitals_example(
    n_hours: int = 48, seed: int = 0
) -> tuple[np.ndarray, list[str]]:
    """単位の異なる 2 つの模擬バイタル(心拍数と体温)を 1 時間ごとに作る。

    Parameters
    ----------
    n_hours : int
        時間の数 [h](4 以上)。
    seed : int
        ノイズの乱数シード。

    Returns
    -------
    values : np.ndarray
        形状 (n_hours, 2)。列 0 が心拍数 [bpm]、列 1 が体温 [℃]
    names : list[str]
        列の名前(単位つき)
    """
    if n_hours < 4:
        raise ValueError(
            f"n_hours は 4 以上にしてください(受け取った値: {n_hours})"
        )
    rng = np.random.default_rng(seed)
    hours = np.arange(n_hours)
    day = np.sin(2 * np.pi * hours / 24)  # 日内変動
    heart_rate = 75 + 8 * day + rng.normal(0, 3, n_hours)
    temperature = 36.8 + 0.3 * day + rng.normal(0, 0.1, n_hours)
    return np.column_stack([heart_rate, temperature]), [
        "心拍数 [bpm]",
        "体温 [℃]",
    ]


SEGMENTS = ("train", "val", "test")  # 時間順の 3 区間


@dataclass(frozen=True)
class TimeSplit:
    """記録を時間順に 3 区間へ分ける割合(テストは残り全部)。"""

    train: float = 0.7  # 最初のこの割合を訓練に
    val: float = 0.1  # 続くこの割合を検証に

    def __post_init__(self) -> None:
        if not (0 < self.train and 0 < self.val and self.train + self.val < 1):
            raise ValueError(
                "0 < train、0 < val、train + val < 1 にしてください"
                f"(受け取った値: {self.train}, {self.val})"
            )

    def bounds(self, n: int) -> dict[str, tuple[int, int]]:
        """長さ n の系列での各区間 [start, stop)(サンプル番号)。

        Parameters
        ----------
        n : 系列の長さ(サンプル数)

        Returns
        -------
        dict[str, tuple[int, int]]
            区間名("train"・"val"・"test")→ (start, stop)
        """
        cut1, cut2 = round(n * self.train), round(n * (self.train + self.val))
        if not 0 < cut1 < cut2 < n:
            raise ValueError(f"長さ {n} の系列では空の区間ができます")
        return {"train": (0, cut1), "val": (cut1, cut2), "test": (cut2, n)}


def downsample_mean(x: np.ndarray, factor: int) -> np.ndarray:
    """factor 点ずつの平均で間引く(端数は捨てる)。

    平均は簡単な低域通過フィルタの役もする。各点は自分のブロック内の
    値だけから作られ、後のブロックの値は混ざらない。

    Parameters
    ----------
    x : 1 次元の系列。形状 (n,)
    factor : 何点ずつ平均するか(1 以上)

    Returns
    -------
    np.ndarray
        間引いた系列。形状 (n // factor,)
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1 or factor < 1 or len(arr) < factor:
        raise ValueError(
            f"1 次元で長さ factor 以上の x と、1 以上の factor に"
            f"してください(受け取った形状: {arr.shape}, factor={factor})"
        )
    n = len(arr) // factor
    return arr[: n * factor].reshape(n, factor).mean(axis=1)
