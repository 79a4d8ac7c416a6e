"""欠測のシミュレーションと、欠測を埋める方法(補完)・マスク・
経過時間の特徴量。

配列の約束: values は形状 (n_steps, n_channels) の等間隔の系列、mask は
同じ形状の bool で True が「測れた(観測あり)」、False が「欠測」。
欠測の位置の values は読まない(NaN でもよい)。
"""

from __future__ import annotations

import numpy as np

from ..core.data import window_positions

STRATEGIES = {  # 欠測の扱い方 → 表示名
    "mean": "平均で埋める",
    "locf": "直前の値(LOCF)",
    "interp": "線形補間(過去だけ)",
    "mask_delta": "LOCF + マスク + 経過時間",
    "leaky": "線形補間(未来も使う)",
}


def _check_mask(mask: np.ndarray) -> np.ndarray:
    """mask が形状 (n_steps, n_channels) の bool 配列かを確かめて返す。"""
    m = np.asarray(mask)
    if m.ndim != 2 or m.dtype != bool:
        raise ValueError(
            f"mask は形状 (n_steps, n_channels) の bool 配列にしてください"
            f"(受け取った形状・型: {m.shape}, {m.dtype})"
        )
    return m


def _check_values(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """values と mask の形状がそろい、観測のある位置が有限値かを確かめる。"""
    v = np.asarray(values, dtype=np.float64)
    m = _check_mask(mask)
    if v.shape != m.shape:
        raise ValueError(
            f"values {v.shape} と mask {m.shape} の形状が違います"
        )
    if not np.all(np.isfinite(v[m])):
        raise ValueError("観測あり(mask=True)の位置に NaN か無限大があります")
    return np.where(m, v, 0.0)  # 欠測の位置は読まないので 0 を入れておく


def mcar_mask(
    shape: tuple[int, int], rate: float, rng: np.random.Generator
) -> np.ndarray:
    """各値が独立に確率 rate で欠ける(MCAR: 完全にランダムな欠測)。

    Parameters
    ----------
    shape : (int, int)
        (n_steps, n_channels)。
    rate : float
        欠ける確率(0〜1)。
    rng : np.random.Generator
        乱数生成器。

    Returns
    -------
    np.ndarray
        True = 観測あり(bool)。形状 shape
    """
    if not 0 <= rate < 1:
        raise ValueError(
            f"rate は 0 以上 1 未満にしてください(受け取った値: {rate})"
        )
    return rng.random(shape) >= rate


def block_mask(
    shape: tuple[int, int],
    rate: float,
    mean_block: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """塊の欠測(センサーが外れた、など)。True = 観測あり。

    チャネルごとに、平均 mean_block 点の連続した欠測を、欠測の割合が
    rate に達するまでランダムな位置に置く。
    """
    if not 0 <= rate < 1 or not mean_block >= 1:
        raise ValueError(
            "rate は 0 以上 1 未満、mean_block は 1 以上に"
            f"してください(受け取った値: {rate}, {mean_block})"
        )
    n_steps, n_channels = shape
    mask = np.ones(shape, dtype=bool)
    for c in range(n_channels):
        while (~mask[:, c]).mean() < rate:
            length = rng.geometric(1 / mean_block)  # 平均 mean_block 点
            start = rng.integers(0, n_steps)
            mask[start : start + length, c] = False
    return mask


def nearest_observed(mask: np.ndarray, after: bool = False) -> np.ndarray:
    """各時刻にいちばん近い観測の時刻(その時刻の観測も含む)。

    after=False なら、その時刻以前で最後に観測があった時刻(なければ -1)。
    after=True なら、その時刻以後で最初に観測がある時刻(なければ n_steps)。
    後者は、時間を逆向きにして前者を求めたもの。

    Parameters
    ----------
    mask : np.ndarray
        観測の印(True = 観測あり、bool)。形状 (n_steps, n_channels)
    after : bool
        True なら以後の観測、False なら以前の観測。

    Returns
    -------
    np.ndarray
        時刻の番号(int)。形状は mask と同じ
    """
    m = _check_mask(mask)
    if after:
        return len(m) - 1 - nearest_observed(m[::-1])[::-1]
    index = np.where(m, np.arange(len(m))[:, None], -1)
    return np.maximum.accumulate(index, axis=0)


def locf(values: np.ndarray, mask: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """直前の観測値で埋める(LOCF: last observation carried forward)。

    使うのはその時刻以前の観測だけなので、未来の値は混ざらない。

    Parameters
    ----------
    values : np.ndarray
        値(欠測の位置は何でもよい)。形状 (n_steps, n_channels)
    mask : np.ndarray
        観測の印(True = 観測あり、bool)。形状 (n_steps, n_channels)
    fill : np.ndarray
        最初の観測より前を埋める値。形状 (n_channels,)

    Returns
    -------
    np.ndarray
        埋めた値。形状 (n_steps, n_channels)
    """
    v = _check_values(values, mask)
    prev = nearest_observed(mask)  # (n, C)
    carried = np.take_along_axis(v, np.maximum(prev, 0), axis=0)
    return np.where(prev >= 0, carried, np.asarray(fill, dtype=np.float64))


def mean_fill(
    values: np.ndarray, mask: np.ndarray, fill: np.ndarray
) -> np.ndarray:
    """欠測をチャネルごとの一定値 fill(訓練区間の平均など)で埋める。

    Parameters
    ----------
    values, mask : np.ndarray
        値と観測の印(locf と同じ)。形状 (n_steps, n_channels)
    fill : np.ndarray
        チャネルごとの埋める値(訓練区間の平均など)。形状 (n_channels,)

    Returns
    -------
    np.ndarray
        埋めた値。形状 (n_steps, n_channels)
    """
    v = _check_values(values, mask)
    return np.where(mask, v, np.asarray(fill, dtype=np.float64))


def time_since_observed(mask: np.ndarray, step_s: float) -> np.ndarray:
    """各時刻で、最後の観測から何秒たったか(その時刻に観測があれば 0)。

    最初の観測より前は、系列の始まりの直前に観測があったとみなして数える。

    Parameters
    ----------
    mask : np.ndarray
        観測の印(True = 観測あり、bool)。形状 (n_steps, n_channels)
    step_s : float
        格子の間隔 [s]。

    Returns
    -------
    np.ndarray
        経過時間 [s]。形状は mask と同じ
    """
    if not step_s > 0:
        raise ValueError(f"step_s は正にしてください(受け取った値: {step_s})")
    prev = nearest_observed(mask)
    return (np.arange(len(prev))[:, None] - prev) * step_s


def interpolate_leaky(
    values: np.ndarray, mask: np.ndarray, fill: np.ndarray
) -> np.ndarray:
    """系列全体での線形補間。欠測の次の観測、つまり **未来の値** を使う
    (比較用)。

    Parameters
    ----------
    values, mask : np.ndarray
        値と観測の印(locf と同じ)。形状 (n_steps, n_channels)
    fill : np.ndarray
        観測が 1 つもないチャネルを埋める値。形状 (n_channels,)

    Returns
    -------
    np.ndarray
        埋めた値。形状 (n_steps, n_channels)
    """
    v = _check_values(values, mask)
    out = np.empty_like(v)
    steps = np.arange(len(v))
    for c in range(v.shape[1]):
        seen = np.flatnonzero(mask[:, c])
        out[:, c] = (
            np.interp(steps, seen, v[seen, c])
            if len(seen)
            else np.asarray(fill, dtype=np.float64)[c]
        )
    return out


def interpolate_causal(
    values: np.ndarray,
    mask: np.ndarray,
    ends: np.ndarray,
    seq_len: int,
    fill: np.ndarray,
) -> np.ndarray:
    """窓ごとの線形補間。窓の終わり ends[i] より後の観測は使わない。

    前後の観測が窓の終わりまでにあれば線形補間、後ろの観測がまだなければ
    直前の値を延ばす(LOCF)。形状 (N, seq_len, n_channels)
    """
    v = _check_values(values, mask)
    prev, nxt = nearest_observed(mask), nearest_observed(mask, True)
    pos = window_positions(ends, seq_len)  # (N, T)
    end = np.asarray(ends)[:, None, None]  # (N, 1, 1)
    p, q = prev[pos], nxt[pos]  # (N, T, C)
    channel = np.arange(v.shape[1])
    vp = np.where(p >= 0, v[np.maximum(p, 0), channel], fill)
    vq = v[np.minimum(q, len(v) - 1), channel]
    known_next = q <= end  # 後ろの観測が窓の終わりまでにある
    both = known_next & (p >= 0) & (q > p)
    w = np.where(both, (pos[..., None] - p) / np.maximum(q - p, 1), 0.0)
    out = vp + w * (vq - vp)
    return np.where(known_next & (p < 0), vq, out)  # 窓の中の最初の観測より前


def mask_delta_features(
    values: np.ndarray,
    mask: np.ndarray,
    fill: np.ndarray,
    step_s: float,
    delta_cap_s: float,
) -> np.ndarray:
    """LOCF で埋めた値・マスク・経過時間を並べた特徴量(GRU-D の考え方)。

    経過時間は delta_cap_s 秒で頭打ちにして 0〜1 に縮める。
    形状 (n_steps, 3 * n_channels): [値..., マスク..., 経過時間...]
    """
    if not delta_cap_s > 0:
        raise ValueError(
            f"delta_cap_s は正にしてください(受け取った値: {delta_cap_s})"
        )
    filled = locf(values, mask, fill)
    delta = np.minimum(time_since_observed(mask, step_s), delta_cap_s)
    return np.concatenate(
        [filled, mask.astype(np.float64), delta / delta_cap_s], axis=1
    )


def impute_windows(
    strategy: str,
    values: np.ndarray,
    mask: np.ndarray,
    ends: np.ndarray,
    seq_len: int,
    fill: np.ndarray,
    step_s: float,
    delta_cap_s: float = 30.0,
) -> np.ndarray:
    """欠測の扱い方 strategy で埋めた入力窓。形状 (N, seq_len, 特徴量の数)

    Parameters
    ----------
    strategy : str
        STRATEGIES のキー(欠測の扱い方)。
    values : np.ndarray
        値(欠測の位置は何でもよい)。形状 (n_steps, n_channels)
    mask : np.ndarray
        観測の印(True = 観測あり、bool)。形状 (n_steps, n_channels)
    ends : np.ndarray
        各窓の最後の時刻の番号。形状 (N,)
    seq_len : int
        窓の長さ。
    fill : np.ndarray
        チャネルごとの埋める値(訓練区間の平均など)。形状 (n_channels,)
    step_s : float
        格子の間隔 [s]。
    delta_cap_s : float
        経過時間の頭打ち [s](mask_delta のとき)。

    Returns
    -------
    np.ndarray
        入力窓。形状 (N, seq_len, 特徴量の数)

    Raises
    ------
    ValueError
        知らない strategy のとき。
    """
    if strategy not in STRATEGIES:
        raise ValueError(
            f"strategy は {list(STRATEGIES)} のどれかにしてください"
            f"(受け取った値: {strategy!r})"
        )
    if strategy == "interp":
        return interpolate_causal(values, mask, ends, seq_len, fill)
    if strategy == "mask_delta":
        series = mask_delta_features(values, mask, fill, step_s, delta_cap_s)
    else:
        impute = {
            "mean": mean_fill,
            "locf": locf,
            "leaky": interpolate_leaky,
        }[strategy]
        series = impute(values, mask, fill)
    return series[window_positions(ends, seq_len)]


def spot_check_mask(
    n_steps: int, step_s: float, mean_gap_s: float, rng: np.random.Generator
) -> np.ndarray:
    """ランダムな時刻に測る「スポット測定」を、格子の上の観測の印にする。

    測定の間隔は平均 mean_gap_s 秒の指数分布(ポアソン過程)。格子の区間
    [k step_s, (k+1) step_s) に測定があれば True。形状 (n_steps,)
    """
    if n_steps < 1 or not step_s > 0 or not mean_gap_s > 0:
        raise ValueError(
            "n_steps は 1 以上、step_s と mean_gap_s は正に"
            f"してください(受け取った値: {n_steps}, {step_s}, "
            f"{mean_gap_s})"
        )
    duration = n_steps * step_s
    n_draws = int(2 * duration / mean_gap_s) + 10  # 足りなくならない数
    times = np.cumsum(rng.exponential(mean_gap_s, n_draws))
    bins = np.floor(times[times < duration] / step_s).astype(int)
    mask = np.zeros(n_steps, dtype=bool)
    mask[bins] = True
    return mask
