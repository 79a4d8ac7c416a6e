"""心電図(ECG)のデータ: 同梱ファイルの読み込み、R 波の検出、
拍の切り出し、ラベル。

データは MIT-BIH Arrhythmia Database の記録 208(誘導 MLII、360 Hz)の 5 分間
(記録の 19:35〜24:35)で、SciPy 1.14 まで ``scipy/misc/ecg.dat`` として
配布されていた抜粋と同じファイルを ``datasets/ecg.dat`` に同梱している。
出典とライセンスは ``datasets/README.md`` を参照。

ここで付けるラベルは、心電図の専門家の注釈ではなく、RR 間隔と波形の形から
機械的に決めた「発見的(ヒューリスティック)なラベル」である。
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import signal

from ..core.data import windows_at

ECG_FS = 360  # サンプリング周波数 [Hz]
ECG_FILE = Path(__file__).parents[1] / "datasets" / "ecg.dat"  # 同梱ファイル
# SciPy 1.14.1 の scipy/misc/ecg.dat、現在の scipy.datasets の登録値と同じ
ECG_SHA256 = "f20ad3365fb9b7f845d0e5c48b6fe67081377ee466c3a220b7f69f35c8958baf"
ECG_N_SAMPLES = 5 * 60 * ECG_FS  # 5 分 = 108000 点
ADC_ZERO = 1024  # 0 mV に当たる A/D 変換の値
ADC_GAIN = 200  # 1 mV に当たる A/D 変換の値の幅


def file_sha256(path: str | Path) -> str:
    """ファイルの SHA-256(16 進の文字列)。

    同梱データが壊れていないかの確認に使う。

    Parameters
    ----------
    path : str or Path
        読むファイル。

    Returns
    -------
    str
        16 進 64 文字のダイジェスト。
    """
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def decode_adc(raw: np.ndarray) -> np.ndarray:
    """A/D 変換の整数値を電位 [mV] に直す: (raw - 1024) / 200。

    Parameters
    ----------
    raw : np.ndarray
        記録された整数値。形状 (n,)

    Returns
    -------
    np.ndarray
        電位 [mV](float64)。形状 (n,)
    """
    arr = np.asarray(raw)
    if arr.ndim != 1:
        raise ValueError(
            f"raw は 1 次元にしてください(受け取った形状: {arr.shape})"
        )
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"raw は A/D 変換の整数値にしてください(受け取った型: {arr.dtype})"
        )
    return (arr.astype(np.int64) - ADC_ZERO) / ADC_GAIN


def _check_ecg_file(path: Path, verify: bool) -> None:
    """ファイルがあり、verify なら SHA-256 が同梱データと同じかを確かめる。"""
    if not path.is_file():
        raise FileNotFoundError(f"心電図のファイルがありません: {path}")
    if verify and (digest := file_sha256(path)) != ECG_SHA256:
        raise ValueError(
            f"{path} の SHA-256 が {digest} で、同梱データの "
            f"{ECG_SHA256} と違います(ファイルが壊れているか別物です)"
        )


def _check_has_ecg(path: Path, names: list[str]) -> None:
    """npz の配列名 names に "ecg" があるかを確かめる。"""
    if "ecg" not in names:
        raise ValueError(f"{path} に配列 'ecg' がありません(あるのは {names})")


def load_ecg(
    path: str | Path | None = None, verify: bool = True
) -> np.ndarray:
    """同梱の心電図(記録 208、誘導 MLII)を読み、電位 [mV] の配列を返す。

    Parameters
    ----------
    path : str, Path or None
        読むファイル(npz 形式で、配列名 "ecg")。None なら同梱ファイル。
    verify : bool
        True ならファイルの SHA-256 が同梱ファイルのものと一致するか確かめる。

    Returns
    -------
    np.ndarray
        電位 [mV]。形状 (108000,)(360 Hz で 5 分)
    """
    path = ECG_FILE if path is None else Path(path)
    _check_ecg_file(path, verify)
    with np.load(path, allow_pickle=False) as archive:
        _check_has_ecg(path, archive.files)
        return decode_adc(archive["ecg"])


def time_axis(n_samples: int, fs: float = ECG_FS) -> np.ndarray:
    """各サンプルの時刻 [s]。形状 (n_samples,)

    Parameters
    ----------
    n_samples : int
        サンプルの数(0 以上)。
    fs : float
        標本化周波数 [Hz]。

    Returns
    -------
    np.ndarray
        時刻 [s]。形状 (n_samples,)
    """
    if n_samples < 0 or fs <= 0:
        raise ValueError(
            f"n_samples は 0 以上、fs は正にしてください"
            f"(受け取った値: {n_samples}, {fs})"
        )
    return np.arange(n_samples) / fs


def _check_signal(x: np.ndarray, fs: float) -> np.ndarray:
    """1 次元・有限値・十分な長さの信号かを確かめる。"""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(
            f"信号は 1 次元にしてください(受け取った形状: {arr.shape})"
        )
    if not fs > 0:
        raise ValueError(
            f"fs は正の値 [Hz] にしてください(受け取った値: {fs})"
        )
    if len(arr) < 2 * fs:
        raise ValueError(
            f"信号が短すぎます({len(arr)} 点。2 秒分 = "
            f"{int(2 * fs)} 点以上が必要です)"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError("信号に NaN または無限大が含まれています")
    return arr


def bandpass(
    x: np.ndarray, fs: float, low_hz: float, high_hz: float, order: int = 2
) -> np.ndarray:
    """バターワース帯域通過フィルタを前後 2 回かける(位相のずれが 0)。

    前向きと後ろ向きにかけるので、各時刻の値に「未来」の信号も混ざる。
    記録を後から解析する用途専用で、予測の入力には使わない。
    """
    arr = _check_signal(x, fs)
    if not 0 < low_hz < high_hz < fs / 2:
        raise ValueError(
            f"0 < low_hz < high_hz < fs/2 = {fs / 2} にしてください"
            f"(受け取った値: {low_hz}, {high_hz})"
        )
    sos = signal.butter(
        order, [low_hz, high_hz], btype="bandpass", fs=fs, output="sos"
    )
    return signal.sosfiltfilt(sos, arr)


def highpass(
    x: np.ndarray, fs: float, cutoff_hz: float, order: int = 2
) -> np.ndarray:
    """基線の揺れ(呼吸や体動によるゆっくりした変動)を除く高域通過フィルタ。

    前後 2 回かける(位相のずれが 0)。

    Parameters
    ----------
    x : np.ndarray
        信号 [mV]。形状 (n,)
    fs : float
        標本化周波数 [Hz]。
    cutoff_hz : float
        遮断周波数 [Hz]。
    order : int
        バターワースフィルタの次数。

    Returns
    -------
    np.ndarray
        フィルタした信号 [mV]。形状 (n,)
    """
    arr = _check_signal(x, fs)
    if not 0 < cutoff_hz < fs / 2:
        raise ValueError(
            f"0 < cutoff_hz < fs/2 = {fs / 2} にしてください"
            f"(受け取った値: {cutoff_hz})"
        )
    sos = signal.butter(
        order, cutoff_hz, btype="highpass", fs=fs, output="sos"
    )
    return signal.sosfiltfilt(sos, arr)


@dataclass(frozen=True)
class PeakConfig:
    """R 波検出の設定。"""

    low_hz: float = 5.0  # 帯域通過の下端 [Hz](基線の揺れと T 波を弱める)
    high_hz: float = 15.0  # 帯域通過の上端 [Hz](筋電と電源雑音を弱める)
    min_distance_s: float = 0.25  # 拍と拍の最小間隔 [s](240 bpm に相当)
    height_fraction: float = 0.3  # しきい値 = この割合 × 包絡線の上位値
    height_percentile: float = 99.0  # 「上位値」に使うパーセンタイル

    def __post_init__(self) -> None:
        """設定の値が使えるかを確かめる(使えなければ ValueError)。"""
        if not 0 < self.low_hz < self.high_hz:
            raise ValueError(
                f"0 < low_hz < high_hz にしてください"
                f"(受け取った値: {self.low_hz}, {self.high_hz})"
            )
        if not self.min_distance_s > 0:
            raise ValueError(
                f"min_distance_s は正にしてください"
                f"(受け取った値: {self.min_distance_s})"
            )
        if not 0 < self.height_fraction < 1:
            raise ValueError(
                f"height_fraction は 0 と 1 の間にしてください"
                f"(受け取った値: {self.height_fraction})"
            )
        if not 50 <= self.height_percentile <= 100:
            raise ValueError(
                f"height_percentile は 50 以上 100 以下にしてください"
                f"(受け取った値: {self.height_percentile})"
            )


def qrs_envelope(x: np.ndarray, fs: float, config: PeakConfig) -> np.ndarray:
    """QRS 波を強調した包絡線 |帯域通過した信号| [mV]。形状は x と同じ。

    Parameters
    ----------
    x : np.ndarray
        心電図 [mV]。形状 (n,)
    fs : float
        標本化周波数 [Hz]。
    config : PeakConfig
        帯域通過の下端・上端 [Hz]。

    Returns
    -------
    np.ndarray
        包絡線 [mV]。形状 (n,)
    """
    return np.abs(bandpass(x, fs, config.low_hz, config.high_hz))


def detect_r_peaks(
    x: np.ndarray, fs: float = ECG_FS, config: PeakConfig = PeakConfig()
) -> np.ndarray:
    """R 波(QRS 波)の位置を検出し、サンプル番号の配列を返す。

    帯域通過した信号の絶対値(包絡線)の山のうち、しきい値を超え、
    互いに min_distance_s 以上離れたものを拍とみなす。下向きの
    QRS 波(心室期外収縮に多い)も絶対値なので見落とさない。

    Parameters
    ----------
    x, fs : 心電図 [mV](形状 (n,))と標本化周波数 [Hz]
    config : 帯域・最小間隔・しきい値の設定

    Returns
    -------
    np.ndarray : R 波のサンプル番号。形状 (n_peaks,)
    """
    envelope = qrs_envelope(x, fs, config)
    height = config.height_fraction * np.percentile(
        envelope, config.height_percentile
    )
    distance = max(1, round(config.min_distance_s * fs))  # [サンプル]
    peaks, _ = signal.find_peaks(envelope, height=height, distance=distance)
    return peaks


def rr_intervals_ms(peaks: np.ndarray, fs: float = ECG_FS) -> np.ndarray:
    """隣り合う R 波の間隔(RR 間隔)[ms]。形状 (n_peaks - 1,)

    Parameters
    ----------
    peaks : np.ndarray
        R 波のサンプル番号(昇順)。形状 (n_peaks,)
    fs : float
        標本化周波数 [Hz]。

    Returns
    -------
    np.ndarray
        RR 間隔 [ms]。形状 (n_peaks - 1,)
    """
    p = np.asarray(peaks)
    if p.ndim != 1 or len(p) < 2:
        raise ValueError(
            f"peaks は 2 つ以上の位置を持つ 1 次元配列にしてください"
            f"(受け取った形状: {p.shape})"
        )
    if np.any(np.diff(p) <= 0):
        raise ValueError(
            "peaks は狭義の昇順(同じ位置の重複なし)にしてください"
        )
    return np.diff(p) / fs * 1000.0


def heart_rate_bpm(rr_ms: np.ndarray) -> np.ndarray:
    """RR 間隔 [ms] から瞬時心拍数 [bpm] = 60000 / RR を求める。

    Parameters
    ----------
    rr_ms : np.ndarray
        RR 間隔 [ms](正の値)。形状 (n,)

    Returns
    -------
    np.ndarray
        心拍数 [bpm]。形状 (n,)

    Raises
    ------
    ValueError
        正でない(または NaN の)RR 間隔があるとき。
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    if np.any(~(rr > 0)):
        raise ValueError("RR 間隔は正の値 [ms] にしてください")
    return 60_000.0 / rr


def _beat_offsets(fs: float, before_s: float, after_s: float) -> np.ndarray:
    """R 波から見た切り出しの各点の位置 [サンプル]。

    形状 (n_before + n_after,)
    """
    n_before, n_after = round(before_s * fs), round(after_s * fs)
    if n_before < 0 or n_after < 1:
        raise ValueError(
            f"before_s は 0 以上、after_s は正にしてください"
            f"(受け取った値: {before_s}, {after_s})"
        )
    return np.arange(-n_before, n_after)


def beats_inside(
    peaks: np.ndarray,
    n_samples: int,
    fs: float,
    before_s: float,
    after_s: float,
) -> np.ndarray:
    """R 波の before_s 秒前から after_s 秒後までの切り出し区間が、
    長さ n_samples の信号の中に収まる拍なら True。

    Parameters
    ----------
    peaks : np.ndarray
        R 波のサンプル番号。形状 (n_peaks,)
    n_samples : int
        信号の長さ(サンプル数)。
    fs : float
        標本化周波数 [Hz]。
    before_s, after_s : float
        R 波の前と後に切り出す長さ [s]。

    Returns
    -------
    np.ndarray
        bool。形状 (n_peaks,)
    """
    offsets = _beat_offsets(fs, before_s, after_s)
    p = np.asarray(peaks, dtype=np.int64)
    return (p + offsets[0] >= 0) & (p + offsets[-1] < n_samples)


def extract_beats(
    x: np.ndarray,
    peaks: np.ndarray,
    fs: float,
    before_s: float,
    after_s: float,
) -> np.ndarray:
    """各 R 波の before_s 秒前から after_s 秒後までを切り出す。

    Parameters
    ----------
    x : np.ndarray
        信号 [mV]。形状 (n,)
    peaks, fs, before_s, after_s
        :func:`beats_inside` と同じ(どの拍も切り出し区間が信号に収まること)。

    Returns
    -------
    np.ndarray
        拍の波形。形状 (n_peaks, n_before + n_after)。列 n_before が R 波。
    """
    arr = np.asarray(x, dtype=np.float64)
    offsets = _beat_offsets(fs, before_s, after_s)
    p = np.asarray(peaks, dtype=np.int64)
    if not beats_inside(p, len(arr), fs, before_s, after_s).all():
        raise ValueError(
            "信号の端にかかる拍があり、切り出せません"
            "(beats_inside で端の拍を除いてください)"
        )
    return windows_at(arr, p + offsets[-1], len(offsets))  # 最後の点で指定


@dataclass(frozen=True)
class LabelConfig:
    """拍に付ける発見的なラベルの設定(専門家の注釈の代わりではない)。"""

    highpass_hz: float = 0.5  # 形を比べる前に基線の揺れを除く [Hz]
    qrs_before_s: float = 0.10  # 形を比べる区間: R 波の前 [s]
    qrs_after_s: float = 0.15  # 形を比べる区間: R 波の後 [s]
    corr_threshold: float = 0.8  # 鋳型との相関がこれ未満なら「形が違う拍」
    min_rr_ms: float = 250.0  # これより短い RR は検出の誤りとみなす [ms]
    max_rr_ms: float = 1500.0  # これより長い RR は拍の取りこぼしとみなす [ms]
    context_beats: int = 8  # 早期性の基準にする、直前の RR の数
    premature_ratio: float = 0.8  # RR < この倍率 × 基準 なら「早期」
    pause_ratio: float = 1.1  # 次の RR > この倍率 × 基準 なら「代償性休止」

    def __post_init__(self) -> None:
        """設定の値が使えるかを確かめる(使えなければ ValueError)。"""
        if not 0 < self.min_rr_ms < self.max_rr_ms:
            raise ValueError(
                f"0 < min_rr_ms < max_rr_ms にしてください(受け取った値:"
                f" {self.min_rr_ms}, {self.max_rr_ms})"
            )
        if not -1 < self.corr_threshold < 1:
            raise ValueError(
                f"corr_threshold は -1 と 1 の間にしてください"
                f"(受け取った値: {self.corr_threshold})"
            )
        if self.context_beats < 1:
            raise ValueError(
                f"context_beats は 1 以上にしてください"
                f"(受け取った値: {self.context_beats})"
            )
        if not 0 < self.premature_ratio < 1 < self.pause_ratio:
            raise ValueError(
                "0 < premature_ratio < 1 < pause_ratio にしてください"
            )
        if (
            self.qrs_before_s < 0
            or not self.qrs_after_s > 0
            or not self.highpass_hz > 0
        ):
            raise ValueError(
                "qrs_before_s は 0 以上、qrs_after_s と highpass_hz は"
                "正にしてください"
            )


@dataclass(frozen=True)
class BeatTable:
    """検出した拍ごとの RR 間隔・形の指標・発見的ラベル。
    どれも形状 (n_beats,)
    """

    peaks: np.ndarray  # R 波の位置(サンプル番号)
    rr_prev_ms: np.ndarray  # 直前の拍からの RR [ms](最初の拍は NaN)
    rr_next_ms: np.ndarray  # 次の拍までの RR [ms](最後の拍は NaN)
    rr_ref_ms: np.ndarray  # 早期性の基準: 直前の RR の中央値 [ms]
    template_corr: np.ndarray  # 鋳型(典型的な拍)との相関係数
    usable: np.ndarray  # ラベルを付けられる拍か(前後の RR がもっともらしい)
    abnormal: np.ndarray  # 形のラベル: 鋳型と形が違う拍
    premature: np.ndarray  # タイミングのラベル: 早期 + 代償性休止の拍

    def __len__(self) -> int:
        """拍の数 n_beats。"""
        return len(self.peaks)


def rr_context(
    peaks: np.ndarray, fs: float, config: LabelConfig
) -> tuple[np.ndarray, ...]:
    """拍ごとの直前・次の RR、基準 RR(直前 k 個の中央値)と、それらが使えるか。

    Returns
    -------
    rr_prev, rr_next, rr_ref : np.ndarray
        [ms]。形状 (n_peaks,)。求められない拍は NaN
    ok : np.ndarray
        基準の k 個と直前・次の RR がすべてもっともらしい範囲なら True
    """
    rr, k = rr_intervals_ms(peaks, fs), config.context_beats
    nan = np.array([np.nan])
    rr_prev, rr_next = np.concatenate([nan, rr]), np.concatenate([rr, nan])
    rr_ref, ok = np.full(len(peaks), np.nan), np.zeros(len(peaks), dtype=bool)
    if len(rr) >= k + 2:
        # 拍 i の窓: rr[i-k-1 .. i]。先頭 k 個が基準、続く 2 個が直前・次の RR
        windows = windows_at(rr, np.arange(k + 1, len(rr)), k + 2)
        plausible = (windows >= config.min_rr_ms) & (
            windows <= config.max_rr_ms
        )
        rr_ref[k + 1 : len(rr)] = np.median(windows[:, :k], axis=1)
        ok[k + 1 : len(rr)] = plausible.all(axis=1)
    return rr_prev, rr_next, rr_ref, ok


def template_correlation(
    beats: np.ndarray, template: np.ndarray
) -> np.ndarray:
    """各拍と鋳型のピアソン相関係数。

    Parameters
    ----------
    beats, template : 拍の波形 (n, L) と鋳型 (L,) [mV]

    Returns
    -------
    np.ndarray : 相関係数。形状 (n,)
    """
    b = np.asarray(beats, dtype=np.float64)
    t = np.asarray(template, dtype=np.float64)
    if b.ndim != 2 or t.shape != (b.shape[1],):
        raise ValueError(
            f"beats は (n, L)、template は (L,) にしてください"
            f"(受け取った形状: {b.shape}, {t.shape})"
        )
    b = b - b.mean(axis=1, keepdims=True)
    t = t - t.mean()
    norms = np.linalg.norm(b, axis=1) * np.linalg.norm(t)
    return (b @ t) / np.where(norms > 0, norms, np.inf)


def _check_template_beats(in_template: np.ndarray, until: int) -> None:
    """鋳型づくりに使える拍が 1 つ以上あるかを確かめる。"""
    if not in_template.any():
        raise ValueError(
            f"template_until={until} より前に使える拍がありません"
        )


def shape_correlation(
    hp: np.ndarray,
    peaks: np.ndarray,
    usable: np.ndarray,
    template_until: int | None,
    fs: float,
    config: LabelConfig,
) -> np.ndarray:
    """各拍と鋳型(template_until より前の使える拍の中央値)の相関係数。

    hp: 基線を除いた信号。形状 (n,)。peaks, usable: 形状 (n_peaks,)
    template_until: サンプル番号。None なら信号の終わり
    戻り値: 形状 (n_peaks,)。信号の端にかかり切り出せない拍は NaN
    """
    until = len(hp) if template_until is None else template_until
    span = (config.qrs_before_s, config.qrs_after_s)
    inside = beats_inside(peaks, len(hp), fs, *span)
    beats = extract_beats(hp, peaks[inside], fs, *span)  # (n_inside, L)
    in_template = (usable & (peaks < until))[inside]
    _check_template_beats(in_template, until)
    template = np.median(beats[in_template], axis=0)  # (L,)
    corr = np.full(len(peaks), np.nan)
    corr[inside] = template_correlation(beats, template)
    return corr


def label_beats(
    x: np.ndarray,
    peaks: np.ndarray,
    fs: float = ECG_FS,
    config: LabelConfig = LabelConfig(),
    template_until: int | None = None,
) -> BeatTable:
    """拍ごとに RR 間隔と形の指標を求め、発見的なラベルを付ける。

    鋳型は template_until(サンプル番号)より前の使える拍の中央値。訓練区間の
    終わりを渡せば、評価に使う区間の拍は鋳型づくりに使われない。
    """
    hp = highpass(x, fs, config.highpass_hz)
    span = (config.qrs_before_s, config.qrs_after_s)
    inside = beats_inside(peaks, len(hp), fs, *span)  # 切り出せる拍
    rr_prev, rr_next, rr_ref, ok = rr_context(peaks, fs, config)
    usable = ok & inside
    corr = shape_correlation(hp, peaks, usable, template_until, fs, config)
    abnormal = usable & (corr < config.corr_threshold)
    early = rr_prev < config.premature_ratio * rr_ref  # 早期の拍
    pause = rr_next > config.pause_ratio * rr_ref  # 代償性休止が続く
    premature = usable & early & pause
    return BeatTable(
        peaks, rr_prev, rr_next, rr_ref, corr, usable, abnormal, premature
    )
