"""medrnn.privacy.anonymity と plots: k-匿名性・再識別・一意性・図。"""

import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure

from medrnn.cgm.data import SubjectCGM
from medrnn.privacy import anonymity as an
from medrnn.privacy import plots

ROWS = [
    {"年": "2016", "診断": "a", "日数": "6"},
    {"年": "2016", "診断": "a", "日数": "6"},
    {"年": "2017", "診断": "b", "日数": "8"},
]


def test_k_anonymity_is_the_smallest_class():
    assert an.class_sizes(ROWS, ["年", "診断"]) == [2, 2, 1]
    assert an.k_anonymity(ROWS, ["年", "診断"]) == 1
    rows = an.generalize(ROWS, {"年": an.suppressed, "診断": an.suppressed})
    assert an.k_anonymity(rows, ["年", "診断"]) == 3


def test_generalization_rules():
    assert an.to_year("2016-09") == "2016"
    assert an.to_week_band("7") == "1 週以内"
    assert an.to_week_band("8") == "1 週超"


def test_k_anonymity_rejects_missing_columns():
    with pytest.raises(ValueError, match="列"):
        an.k_anonymity(ROWS, ["年", "郵便番号"])
    with pytest.raises(ValueError):
        an.k_anonymity([], ["年"])


def _subject(sid: str, glucose: np.ndarray) -> SubjectCGM:
    times = np.datetime64("2020-01-01T00:00:00") + 300 * np.arange(
        len(glucose)
    ).astype("timedelta64[s]")
    return SubjectCGM(sid, "d", times, np.asarray(glucose, dtype=float))


def test_metadata_rows_drop_the_identifier(hall):
    rows = an.metadata_rows(hall)
    assert len(rows) == len(hall)
    assert all(
        set(r) == {"研究", "診断", "測定開始", "測定日数"} for r in rows
    )
    assert not any(s.subject_id in r.values() for s, r in zip(hall, rows))


def test_trace_features_and_bad_input():
    f = an.trace_features(np.array([60.0, 100.0, 200.0, 100.0]))
    assert f.shape == (8,)
    assert f[5] == pytest.approx(25.0) and f[6] == pytest.approx(25.0)
    with pytest.raises(ValueError):
        an.trace_features(np.array([100.0, np.nan]))


def test_link_records_finds_the_nearest_summary():
    released = np.array([[0.0, 0.0], [10.0, 10.0], [20.0, 0.0]])
    known = released[[2, 0, 1]] + 0.1
    np.testing.assert_array_equal(an.link_records(known, released), [2, 0, 1])


def test_reidentification_of_distinct_and_identical_people():
    wave = np.sin(2 * np.pi * np.arange(200) / 50)  # 前半と後半で同じ形
    distinct = [
        _subject(f"s{i}", 80 + 30 * i + (5 + 10 * i) * wave) for i in range(4)
    ]
    assert an.reidentification_rate(distinct) == 1.0
    same = [_subject(f"s{i}", np.full(200, 100.0)) for i in range(4)]
    assert an.reidentification_rate(same) == pytest.approx(0.25)


def test_unique_fraction_of_short_and_long_runs():
    a = _subject("a", np.array([1.0, 2.0, 3.0, 4.0]))
    b = _subject("b", np.array([1.0, 2.0, 5.0, 6.0]))
    # 長さ 1: 1,2 は 2 人、3,4,5,6 は 1 人だけ → 4/6
    assert an.unique_fraction([a, b], 1) == pytest.approx(4 / 6)
    # 長さ 2: (1,2) は 2 人、(2,3)(3,4)(2,5)(5,6) は 1 人だけ → 4/5
    assert an.unique_fraction([a, b], 2) == pytest.approx(4 / 5)
    with pytest.raises(ValueError):
        an.unique_fraction([a], 0)


def _no_warnings(make):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = make()
    assert isinstance(fig, Figure)


def test_plots_return_figures_without_warnings():
    _no_warnings(
        lambda: plots.plot_uniqueness(
            np.array([5.0, 10.0]), np.array([20.0, 50.0])
        )
    )
    _no_warnings(
        lambda: plots.plot_convergence(
            {"集中学習": np.array([[20.0, 15.0], [20.0, 14.0]])}
        )
    )
    _no_warnings(
        lambda: plots.plot_hospital_errors(
            {
                "病院 A": {
                    "単独": np.array([13.0, 14.0]),
                    "FedAvg": np.array([12.0, 12.5]),
                }
            }
        )
    )
    _no_warnings(
        lambda: plots.plot_privacy_tradeoff(
            np.array([1.0, 4.0]), np.array([14.0, 13.5]), 13.0
        )
    )
    with pytest.raises(ValueError):
        plots.plot_privacy_tradeoff(np.array([0.0]), np.array([1.0]), 1.0)
