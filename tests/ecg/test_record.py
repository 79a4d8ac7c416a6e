"""medrnn.ecg.record のテスト。

同梱の心電図の読み込み、R 波の検出、拍の切り出し、発見的ラベル。
"""

import numpy as np
import pytest

from medrnn.ecg import record as ecg

FS = ecg.ECG_FS


@pytest.fixture(scope="module")
def record():
    """同梱の記録(読み込みと R 波の検出はテストごとに繰り返さない)。"""
    x = ecg.load_ecg()
    return x, ecg.detect_r_peaks(x)


def _spike_train(
    beat_s, n_samples, fs=FS, width_s=0.012, amplitude=1.5, inverted=()
):
    """指定した時刻 [s] に細いガウス形の QRS 波を置いた合成心電図 [mV]。"""
    t = np.arange(n_samples) / fs
    x = 0.2 * np.sin(2 * np.pi * 0.3 * t)  # ゆっくりした基線の揺れ
    for i, b in enumerate(beat_s):
        sign = -1.0 if i in inverted else 1.0
        x += sign * amplitude * np.exp(-0.5 * ((t - b) / width_s) ** 2)
    return x


# --- 同梱ファイルと読み込み -------------------------------------------------


def test_shipped_file_matches_checksum_and_size():
    assert ecg.ECG_FILE.is_file()
    assert ecg.ECG_FILE.stat().st_size == 119035
    assert ecg.file_sha256(ecg.ECG_FILE) == ecg.ECG_SHA256


def test_load_ecg_length_units_and_scipy_values(record):
    x, _ = record
    assert (
        x.shape == (ecg.ECG_N_SAMPLES,) == (108000,)
    )  # 5 分 × 60 秒 × 360 Hz
    assert x.dtype == np.float64
    # 体表面の心電図として自然な範囲 [mV]
    assert -5.0 < x.min() < -1.0 and 1.0 < x.max() < 5.0
    # SciPy の electrocardiogram() の説明にある値と同じ(同じ換算をしている証拠)
    np.testing.assert_allclose(x[:3], [-0.245, -0.215, -0.185])
    np.testing.assert_allclose(x[-3:], [-0.405, -0.395, -0.385])
    assert x.mean() == pytest.approx(-0.16510875)
    assert x.std() == pytest.approx(0.5992473991177294)
    # A/D の 1 段は 1/200 mV
    np.testing.assert_allclose(np.round(x * 200), x * 200, atol=1e-9)


def test_decode_adc():
    np.testing.assert_allclose(
        ecg.decode_adc(np.array([1024, 1224, 824], dtype=np.uint16)),
        [0.0, 1.0, -1.0],
    )
    with pytest.raises(ValueError, match="整数"):
        ecg.decode_adc(np.array([1024.0]))
    with pytest.raises(ValueError, match="1 次元"):
        ecg.decode_adc(np.zeros((2, 2), dtype=np.int16))


def test_load_ecg_rejects_a_different_file(tmp_path):
    other = tmp_path / "other.npz"
    np.savez(other, ecg=np.full(10, 1024, dtype=np.uint16))
    with pytest.raises(ValueError, match="SHA-256"):
        ecg.load_ecg(other)
    np.testing.assert_array_equal(ecg.load_ecg(other, verify=False), 0.0)
    wrong_key = tmp_path / "wrong.npz"
    np.savez(wrong_key, signal=np.zeros(3, dtype=np.uint16))
    with pytest.raises(ValueError, match="'ecg'"):
        ecg.load_ecg(wrong_key, verify=False)
    with pytest.raises(FileNotFoundError):
        ecg.load_ecg(tmp_path / "missing.dat")


def test_time_axis():
    np.testing.assert_allclose(ecg.time_axis(4, fs=2.0), [0.0, 0.5, 1.0, 1.5])
    with pytest.raises(ValueError):
        ecg.time_axis(3, fs=0)


# --- フィルタと R 波の検出 ---------------------------------------------------


def test_filters_check_their_input():
    x = np.zeros(3 * FS)
    with pytest.raises(ValueError, match="fs/2"):
        ecg.bandpass(x, FS, 15.0, 5.0)
    with pytest.raises(ValueError, match="fs/2"):
        ecg.highpass(x, FS, 200.0)
    with pytest.raises(ValueError, match="短すぎ"):
        ecg.bandpass(np.zeros(10), FS, 5.0, 15.0)
    with pytest.raises(ValueError, match="NaN"):
        ecg.bandpass(np.full(3 * FS, np.nan), FS, 5.0, 15.0)
    with pytest.raises(ValueError, match="1 次元"):
        ecg.detect_r_peaks(np.zeros((2, 3 * FS)))


def test_peak_config_validation():
    with pytest.raises(ValueError, match="low_hz"):
        ecg.PeakConfig(low_hz=20.0, high_hz=10.0)
    with pytest.raises(ValueError, match="min_distance_s"):
        ecg.PeakConfig(min_distance_s=0.0)
    with pytest.raises(ValueError, match="height_fraction"):
        ecg.PeakConfig(height_fraction=1.5)


def test_detector_finds_synthetic_beats_including_inverted_ones():
    beat_s = np.arange(0.5, 9.6, 0.8)  # 75 bpm
    x = _spike_train(beat_s, 10 * FS, inverted={3, 7})  # 2 拍は下向き
    peaks = ecg.detect_r_peaks(x)
    assert len(peaks) == len(beat_s)
    np.testing.assert_allclose(peaks / FS, beat_s, atol=3 / FS)


def test_detector_on_the_record_is_physiologically_plausible(record):
    _, peaks = record
    # 本書の検出器が見つける拍の数(心拍数の中央値 105 bpm × 5 分に見合う)
    assert abs(len(peaks) - 503) <= 25
    rr = ecg.rr_intervals_ms(peaks)
    assert 500 <= np.median(rr) <= 1200  # RR の中央値は 0.5〜1.2 秒
    assert np.all(rr >= 1000 * ecg.PeakConfig().min_distance_s - 1e-9)
    hr = ecg.heart_rate_bpm(rr)
    assert 50 <= np.median(hr) <= 120


def test_rr_intervals_and_heart_rate():
    rr = ecg.rr_intervals_ms(np.array([0, 360, 720, 900]), fs=360)
    np.testing.assert_allclose(rr, [1000.0, 1000.0, 500.0])
    np.testing.assert_allclose(ecg.heart_rate_bpm(rr), [60.0, 60.0, 120.0])
    with pytest.raises(ValueError, match="昇順"):
        ecg.rr_intervals_ms(np.array([0, 360, 360]))
    with pytest.raises(ValueError, match="2 つ以上"):
        ecg.rr_intervals_ms(np.array([5]))
    with pytest.raises(ValueError, match="正"):
        ecg.heart_rate_bpm(np.array([0.0, 800.0]))


def test_extract_beats_and_edges():
    x = np.arange(100.0)
    beats = ecg.extract_beats(
        x, np.array([10, 50]), fs=10, before_s=0.5, after_s=1.0
    )
    assert beats.shape == (2, 15)
    np.testing.assert_array_equal(beats[0], np.arange(5.0, 20.0))
    np.testing.assert_array_equal(
        beats[:, 5], [10.0, 50.0]
    )  # 列 n_before が R 波
    inside = ecg.beats_inside(
        np.array([2, 50, 95]), 100, fs=10, before_s=0.5, after_s=1.0
    )
    np.testing.assert_array_equal(inside, [False, True, False])
    with pytest.raises(ValueError, match="端"):
        ecg.extract_beats(x, np.array([2]), fs=10, before_s=0.5, after_s=1.0)
    with pytest.raises(ValueError, match="after_s"):
        ecg.extract_beats(x, np.array([50]), fs=10, before_s=0.5, after_s=0.0)
    with pytest.raises(ValueError, match="before_s"):
        ecg.beats_inside(np.array([50]), 100, fs=10, before_s=-0.1, after_s=1)
    # 空の拍の並びは (0, L) の配列になる
    none = ecg.extract_beats(x, np.array([], int), 10, 0.5, 1.0)
    assert none.shape == (0, 15)


# --- ラベル -----------------------------------------------------------------


def test_template_correlation():
    template = np.sin(np.linspace(0, 3, 20))
    beats = np.stack([2 * template + 1, -template, np.zeros(20)])
    np.testing.assert_allclose(
        ecg.template_correlation(beats, template), [1.0, -1.0, 0.0], atol=1e-12
    )
    with pytest.raises(ValueError, match="template"):
        ecg.template_correlation(beats, template[:5])


def test_label_config_validation():
    with pytest.raises(ValueError, match="min_rr_ms"):
        ecg.LabelConfig(min_rr_ms=2000.0)
    with pytest.raises(ValueError, match="corr_threshold"):
        ecg.LabelConfig(corr_threshold=1.5)
    with pytest.raises(ValueError, match="context_beats"):
        ecg.LabelConfig(context_beats=0)
    with pytest.raises(ValueError, match="premature_ratio"):
        ecg.LabelConfig(premature_ratio=1.2)


def test_rr_context_uses_only_preceding_beats_for_the_reference():
    peaks = np.arange(12) * 360  # RR はすべて 1000 ms
    peaks[10:] -= 100  # 拍 10 だけ早い(次の RR は長い)
    config = ecg.LabelConfig(context_beats=3)
    rr_prev, rr_next, rr_ref, ok = ecg.rr_context(peaks, 360, config)
    assert np.isnan(rr_prev[0]) and np.isnan(rr_next[-1])
    assert not ok[:4].any() and not ok[-1]  # 基準か次の RR が足りない拍
    assert ok[4:11].all()
    np.testing.assert_allclose(rr_ref[4:11], 1000.0)
    assert rr_prev[10] == pytest.approx(1000 - 100 / 360 * 1000)


def test_labels_on_a_synthetic_record_find_the_premature_odd_beat():
    beat_s = list(np.arange(0.5, 20, 0.8))
    beat_s[15] -= 0.3  # 早期の拍(次の RR は長くなる = 代償性休止)
    x = _spike_train(beat_s, 21 * FS, inverted={15})  # その拍だけ形が違う
    peaks = ecg.detect_r_peaks(x)
    assert len(peaks) == len(beat_s)
    table = ecg.label_beats(x, peaks, FS)
    assert np.flatnonzero(table.premature).tolist() == [15]
    assert np.flatnonzero(table.abnormal).tolist() == [15]
    assert not table.usable[:9].any()  # 基準の 8 個の RR がそろわない拍


def test_labels_on_the_record_are_deterministic_and_consistent(record):
    x, peaks = record
    a = ecg.label_beats(x, peaks, template_until=75600)
    b = ecg.label_beats(x, peaks, template_until=75600)
    for field in (
        "rr_prev_ms",
        "rr_ref_ms",
        "template_corr",
        "usable",
        "abnormal",
        "premature",
    ):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert len(a) == len(peaks)
    assert not (a.abnormal & ~a.usable).any()
    assert not (a.premature & ~a.usable).any()
    # 本書の章で使う数(規則を変えたら章の文章も見直すこと)
    assert a.usable.sum() == 463
    assert a.abnormal.sum() == 111
    assert a.premature.sum() == 7


def test_label_beats_needs_template_beats(record):
    x, peaks = record
    with pytest.raises(ValueError, match="template_until"):
        ecg.label_beats(x, peaks, template_until=10)
