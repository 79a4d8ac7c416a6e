"""心電図・呼吸・皮膚電気活動(EDA)の同時記録から、
粗い時間刻みの多変量系列を作る。

データは Python パッケージ systole 0.3.1(GPL-3.0、Legrand & Allen 2022)に
含まれる記録(Legrand et al. 2020 の実験の 1 人の参加者、1000 Hz、
約 25.6 分)。パッケージ本体は import しない(import すると pandas や
requests などが必要になり、一部の関数は実行時にネットワークからデータを
取りにいく)。ファイルの場所だけを ``importlib.util.find_spec`` で調べ、
NumPy の ``np.load`` で読む。
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.checks import as_paired_1d

# factor 点ずつのブロック平均(心電図の章と共通)
from ..core.data import downsample_mean
from ..ecg.record import detect_r_peaks

RAW_FS = 1000  # 記録のサンプリング周波数 [Hz]
CHANNEL_FILES = {
    "ecg": "Task1_ECG.npy",
    "resp": "Task1_Respiration.npy",
    "eda": "Task1_EDA.npy",
    "stim": "Task1_Stim.npy",
}
INSTALL_HINT = (
    "python -m pip install --no-deps -r requirements-data.txt"
    " を実行して systole==0.3.1 を入れてください"
)
SERIES_NAMES = ("心拍数", "呼吸", "EDA")  # 粗い系列のチャネル名
SERIES_UNITS = ("bpm", "任意単位", "μS")  # 各チャネルの単位


def systole_dataset_dir() -> Path:
    """systole パッケージのデータフォルダの場所(パッケージは実行しない)。

    Returns
    -------
    Path
        4 つの記録ファイルがあるフォルダ。
    """
    spec = importlib.util.find_spec("systole")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "systole パッケージが見つかりません。" + INSTALL_HINT
        )
    folder = Path(spec.submodule_search_locations[0]) / "datasets"
    missing = [f for f in CHANNEL_FILES.values() if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{folder} に {missing} がありません。" + INSTALL_HINT
        )
    return folder


@dataclass(frozen=True)
class Recording:
    """1000 Hz の同時記録。どれも形状 (n_samples,)"""

    # 心電図 [mV](ファイルに単位の記載はなく、値の大きさから判断)
    ecg_mv: np.ndarray
    resp: np.ndarray  # 呼吸(胸部のベルト)[任意単位]
    eda_us: np.ndarray  # 皮膚電気活動(皮膚コンダクタンス)[μS]
    stim: np.ndarray  # 刺激(画像)の提示の印: 0(なし)・1・2
    fs: float = RAW_FS  # サンプリング周波数 [Hz]

    def __len__(self) -> int:
        """サンプルの数 n_samples。"""
        return len(self.ecg_mv)

    @property
    def duration_s(self) -> float:
        """記録の長さ [s]。"""
        return len(self) / self.fs


def load_recording(folder: str | Path | None = None) -> Recording:
    """4 つのファイル(心電図・呼吸・EDA・刺激)を読み、長さと値を確かめる。

    Parameters
    ----------
    folder : str, Path or None
        ファイルのあるフォルダ。None なら systole 同梱のデータ。

    Returns
    -------
    Recording
        1000 Hz の同時記録。
    """
    folder = systole_dataset_dir() if folder is None else Path(folder)
    arrays = {}
    for name, filename in CHANNEL_FILES.items():
        arr = np.load(folder / filename, allow_pickle=False)
        if arr.ndim != 1 or not np.all(np.isfinite(arr)):
            raise ValueError(
                f"{filename} は有限値の 1 次元配列ではありません"
                f"(形状 {arr.shape})"
            )
        arrays[name] = arr.astype(np.float64)
    lengths = {len(a) for a in arrays.values()}
    if len(lengths) != 1:
        raise ValueError(f"チャネルの長さがそろっていません: {lengths}")
    return Recording(
        arrays["ecg"], arrays["resp"], arrays["eda"], arrays["stim"]
    )


def beat_heart_rate(
    ecg_mv: np.ndarray,
    fs: float = RAW_FS,
    min_rr_ms: float = 300.0,
    max_rr_ms: float = 2000.0,
) -> tuple[np.ndarray, np.ndarray]:
    """R 波から、拍ごとの時刻 [s] と瞬時心拍数 [bpm] を求める(不規則な時刻)。

    心拍数は、その拍と直前の拍の間隔(RR)から 60000 / RR とし、
    RR が終わる拍の時刻に置く(その時刻になって初めて分かる値)。
    RR が [min_rr_ms, max_rr_ms] の外の拍は、検出の誤りとして除く。

    Returns
    -------
    times_s, hr_bpm : np.ndarray
        形状 (n_beats - 1,)。times_s は狭義の昇順
    """
    peaks = detect_r_peaks(ecg_mv, fs)
    if len(peaks) < 2:
        raise ValueError(
            "R 波が 2 つ未満しか見つからず、心拍数を求められません"
        )
    rr_ms = np.diff(peaks) / fs * 1000.0
    ok = (rr_ms >= min_rr_ms) & (rr_ms <= max_rr_ms)
    return peaks[1:][ok] / fs, 60_000.0 / rr_ms[ok]


def last_value_on_grid(
    times_s: np.ndarray, values: np.ndarray, grid_end_s: np.ndarray
) -> np.ndarray:
    """各格子の区間の終わりの時刻より前に得られた、最新の値(なければ NaN)。

    不規則な時刻の測定を、未来を使わずに等間隔の格子へ移す方法。

    Parameters
    ----------
    times_s, values : 測定時刻 [s](昇順)と値。形状 (n_obs,)
    grid_end_s : 各格子の区間の終わり [s]。形状 (n_bins,)

    Returns
    -------
    np.ndarray : 格子の値。形状 (n_bins,)
    """
    t, v = as_paired_1d(
        times_s, values, "times_s と values は同じ長さの 1 次元にしてください"
    )
    if np.any(np.diff(t) <= 0):
        raise ValueError("times_s は狭義の昇順にしてください")
    # 区間の終わりより前(厳密に小さい時刻)の測定だけを使う
    last = np.searchsorted(t, np.asarray(grid_end_s), side="left") - 1
    return np.where(last >= 0, v[np.maximum(last, 0)], np.nan)


def observed_in_bins(
    times_s: np.ndarray, grid_end_s: np.ndarray, step_s: float
) -> np.ndarray:
    """格子の各区間 [終わり - step_s, 終わり) に測定が 1 つ以上あれば True。

    Parameters
    ----------
    times_s : np.ndarray
        測定時刻 [s](昇順)。形状 (n_obs,)
    grid_end_s : np.ndarray
        各区間の終わり [s]。形状 (n_bins,)
    step_s : float
        格子の間隔 [s]。

    Returns
    -------
    np.ndarray
        bool。形状 (n_bins,)
    """
    if not step_s > 0:
        raise ValueError(f"step_s は正にしてください(受け取った値: {step_s})")
    t = np.asarray(times_s, dtype=np.float64)
    end = np.asarray(grid_end_s, dtype=np.float64)
    before_end = np.searchsorted(t, end, side="left")
    before_start = np.searchsorted(t, end - step_s, side="left")
    return before_end > before_start


@dataclass(frozen=True)
class VitalSeries:
    """等間隔の格子に並べた多変量系列。"""

    t_s: np.ndarray  # 各格子の区間の終わりの時刻 [s]。形状 (n,)
    values: np.ndarray  # 形状 (n, 3): 心拍数 [bpm]・呼吸 [任意単位]・EDA [μS]
    step_s: float  # 格子の間隔 [s]
    names: tuple[str, ...] = SERIES_NAMES
    units: tuple[str, ...] = SERIES_UNITS

    def __len__(self) -> int:
        """格子の点の数 n。"""
        return len(self.t_s)


def derive_series(rec: Recording, step_s: float = 0.5) -> VitalSeries:
    """1000 Hz の記録から step_s 秒刻みの 3 チャネル系列を作る。

    心拍数は各区間の終わりまでに分かった最新の拍の値(未来の拍は使わない)、
    呼吸と EDA は区間ごとの平均。最初の拍より前の区間は落とす。

    Parameters
    ----------
    rec : 1000 Hz の同時記録。step_s : 格子の間隔 [s]

    Returns
    -------
    VitalSeries : values の形状 (n, 3)(心拍数 [bpm]・呼吸・EDA [μS])
    """
    factor = round(step_s * rec.fs)
    if factor < 1 or abs(factor / rec.fs - step_s) > 1e-9:
        raise ValueError(f"step_s={step_s} は 1/fs の整数倍にしてください")
    resp = downsample_mean(rec.resp, factor)
    eda = downsample_mean(rec.eda_us, factor)
    t_end = (np.arange(len(resp)) + 1) * step_s  # 区間の終わり [s]
    beat_t, beat_hr = beat_heart_rate(rec.ecg_mv, rec.fs)
    hr = last_value_on_grid(beat_t, beat_hr, t_end)
    keep = np.isfinite(hr)
    values = np.column_stack([hr, resp, eda])[keep]
    return VitalSeries(t_end[keep], values, step_s)


def interpolate_on_grid(
    times_s: np.ndarray, values: np.ndarray, grid_t_s: np.ndarray
) -> np.ndarray:
    """素朴な再サンプリング: 測定の間を直線で結んで格子の時刻の値を読む。

    各時刻の値に、その時刻より **後** の測定が混ざる(未来を使う)。

    Parameters
    ----------
    times_s : np.ndarray
        測定時刻 [s](昇順)。形状 (n_obs,)
    values : np.ndarray
        測定値。形状 (n_obs,)
    grid_t_s : np.ndarray
        格子の時刻 [s]。形状 (n,)

    Returns
    -------
    np.ndarray
        格子の時刻の値。形状 (n,)
    """
    t = np.asarray(times_s, dtype=np.float64)
    if t.ndim != 1 or len(t) < 2 or np.any(np.diff(t) <= 0):
        raise ValueError("times_s は 2 点以上の狭義の昇順にしてください")
    return np.interp(grid_t_s, t, values)


def measurement_gap_s(
    times_s: np.ndarray, grid_t_s: np.ndarray, ahead: bool = True
) -> np.ndarray:
    """各格子の時刻から、次の測定(ahead=True)か前の測定までの時間 [s]。

    次の測定は、線形補間がその時刻で使う測定(時刻ちょうどなら 0)。
    前の測定は、その時刻より前の最後の測定。どちらも、なければ NaN。

    Parameters
    ----------
    times_s, grid_t_s : np.ndarray
        測定時刻 [s](昇順)と格子の時刻 [s]。形状 (n_obs,) と (n,)
    ahead : bool
        True なら次の測定、False なら前の測定。

    Returns
    -------
    np.ndarray
        時間 [s]。形状 (n,)
    """
    t, g = (np.asarray(a, dtype=np.float64) for a in (times_s, grid_t_s))
    k = np.searchsorted(t, g, side="left") - (0 if ahead else 1)  # 使う測定
    gap = t[np.clip(k, 0, len(t) - 1)] - g
    found = (k >= 0) & (k < len(t))
    return np.where(found, gap if ahead else -gap, np.nan)
