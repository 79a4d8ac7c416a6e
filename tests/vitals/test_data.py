"""medrnn.vitals.data: systole の記録の読み込み、心拍数などの系列の導き方、
単位と範囲。
"""

import numpy as np
import pytest

from medrnn.vitals import data as vitals


@pytest.fixture(scope="module")
def rec():
    return vitals.load_recording()


@pytest.fixture(scope="module")
def series(rec):
    return vitals.derive_series(rec, 0.5)


def test_recording_shapes_and_plausible_units(rec):
    assert rec.fs == 1000 and len(rec) == 1_536_570
    assert 25 < rec.duration_s / 60 < 26  # 約 25.6 分
    assert 1.0 < np.percentile(rec.ecg_mv, 99.9) < 5.0  # R 波の高さ [mV]
    # 皮膚コンダクタンス [μS]
    assert 5 < rec.eda_us.min() and rec.eda_us.max() < 20
    assert set(np.unique(rec.stim)) == {0.0, 1.0, 2.0}


def test_missing_package_gives_install_hint(monkeypatch):
    monkeypatch.setattr(vitals.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="requirements-data.txt"):
        vitals.systole_dataset_dir()


def test_beat_heart_rate_is_plausible(rec):
    times, hr = vitals.beat_heart_rate(rec.ecg_mv)
    assert np.all(np.diff(times) > 0)
    assert 50 < hr.min() and hr.max() < 120  # 安静の若い成人 [bpm]
    assert 1800 < len(hr) < 2100  # 約 75 bpm × 25.6 分


def test_derived_series_shapes_and_ranges(series):
    assert series.values.shape == (len(series), 3)
    assert series.units == ("bpm", "任意単位", "μS")
    np.testing.assert_allclose(np.diff(series.t_s), 0.5)
    assert np.all(np.isfinite(series.values))
    hr, eda = series.values[:, 0], series.values[:, 2]
    assert 50 < hr.min() and hr.max() < 120
    assert 5 < eda.min() and eda.max() < 20


def test_last_value_on_grid_uses_only_past_measurements():
    times, values = np.array([0.2, 1.0, 1.7]), np.array([60.0, 70.0, 80.0])
    out = vitals.last_value_on_grid(
        times, values, np.array([0.1, 0.5, 1.0, 1.5, 2.0])
    )
    # 1.0 s ちょうどの測定は、1.0 s で終わる区間にはまだ入らない
    np.testing.assert_array_equal(out, [np.nan, 60, 60, 70, 80])


def test_observed_in_bins_and_lookahead():
    times = np.array([0.2, 0.3, 1.6])
    ends = np.array([0.5, 1.0, 1.5, 2.0])  # 区間 [0, 0.5), [0.5, 1.0), ...
    assert vitals.observed_in_bins(times, ends, 0.5).tolist() == [
        True,
        False,
        False,
        True,
    ]
    ahead = vitals.measurement_gap_s(times, np.array([0.0, 0.5, 1.6, 2.0]))
    np.testing.assert_allclose(ahead, [0.2, 1.1, 0.0, np.nan])
    grid = vitals.interpolate_on_grid(
        times, np.array([60.0, 70.0, 80.0]), np.array([0.95])
    )
    np.testing.assert_allclose(grid, [75.0])  # 1.6 s の未来の値が混ざる


def test_time_since_last():
    out = vitals.measurement_gap_s(
        np.array([1.0, 2.5]), np.array([0.5, 1.0, 3.0]), ahead=False
    )
    # 1.0 s ちょうどはまだ
    np.testing.assert_allclose(out, [np.nan, np.nan, 0.5])


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: vitals.last_value_on_grid(
                np.array([1.0, 0.5]), np.ones(2), np.ones(1)
            ),
            "昇順",
        ),
        (
            lambda: vitals.observed_in_bins(np.ones(2), np.ones(3), 0.0),
            "step_s",
        ),
        (
            lambda: vitals.interpolate_on_grid(
                np.ones(1), np.ones(1), np.ones(1)
            ),
            "2 点以上",
        ),
        (lambda: vitals.beat_heart_rate(np.zeros(5000)), "R 波"),
    ],
)
def test_bad_input_raises_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_bad_step_raises(rec):
    with pytest.raises(ValueError, match="step_s"):
        vitals.derive_series(rec, 0.0001)
