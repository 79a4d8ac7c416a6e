"""匿名化と再識別: k-匿名性と、血糖値の記録そのものが指紋になること。

表の「準識別子」(年月・研究の番号など、組み合わせると人を絞り込める列)を
粗くして k-匿名性(どの組み合わせも k 人以上)を満たす手順と、時系列では
それが効かないこと(記録の一部や要約から、名前を消した記録の持ち主が分かる)
を、本書の CGM の記録で示す。
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ..cgm.data import PERIOD_MIN, TARGET_RANGE, SubjectCGM, split_segments

Row = dict[str, str]  # 表の 1 行(列名 → 値)


def metadata_rows(subjects: Sequence[SubjectCGM]) -> list[Row]:
    """被験者ごとの属性の表: 研究の番号・診断・測定開始の年月・測定日数。

    識別子(被験者の番号)は落とし、研究の番号(番号の前半)だけを残す。

    Parameters
    ----------
    subjects : Sequence[SubjectCGM]
        被験者の CGM の記録。長さ n

    Returns
    -------
    list[Row]
        被験者ごとの行(列名 → 文字列)。長さ n。測定日数の単位は日
    """
    rows = []
    for s in subjects:
        start = str(s.times[0].astype("datetime64[M]"))  # 例: 2016-09
        days = len(s.glucose) * PERIOD_MIN / 1440
        rows.append(
            {
                "研究": s.subject_id.split("-")[0],
                "診断": s.diagnosis,
                "測定開始": start,
                "測定日数": f"{days:.0f}",
            }
        )
    return rows


def class_sizes(rows: Sequence[Row], quasi: Sequence[str]) -> list[int]:
    """各行と同じ準識別子の値の組を持つ行の数(その行を含む)。

    Parameters
    ----------
    rows : Sequence[Row]
        表の行。長さ n
    quasi : Sequence[str]
        準識別子とみなす列名。空でない並び

    Returns
    -------
    list[int]
        行ごとの同値クラスの大きさ。長さ n(形状 (n,))
    """
    _check_columns(rows, quasi)
    keys = [tuple(row[q] for q in quasi) for row in rows]
    counts = Counter(keys)
    return [counts[k] for k in keys]


def k_anonymity(rows: Sequence[Row], quasi: Sequence[str]) -> int:
    """表の k: 準識別子の値の組ごとの人数の最小値(1 なら誰かが特定できる)。

    Parameters
    ----------
    rows : Sequence[Row]
        表の行(空でない)。
    quasi : Sequence[str]
        組み合わせて人を絞り込める列の名前。

    Returns
    -------
    int
        k(1 以上)。
    """
    return min(class_sizes(rows, quasi))


def _check_columns(rows: Sequence[Row], quasi: Sequence[str]) -> None:
    """rows が空でなく、どの行にも quasi の列があるかを確かめる。"""
    if not rows or not quasi:
        raise ValueError("rows と quasi は空でない並びにしてください")
    missing = {q for row in rows for q in quasi if q not in row}
    if missing:
        raise ValueError(f"列 {sorted(missing)} がない行があります")


def generalize(
    rows: Sequence[Row], rules: Mapping[str, Callable[[str], str]]
) -> list[Row]:
    """列ごとの規則 rules で値を粗くした表(規則のない列はそのまま)。

    Parameters
    ----------
    rows : Sequence[Row]
        元の表。長さ n
    rules : Mapping[str, Callable[[str], str]]
        列名 → 値を粗くする関数(:func:`to_year` など)。

    Returns
    -------
    list[Row]
        粗くした新しい表。長さ n(rows は変えない)
    """
    return [
        {col: rules[col](v) if col in rules else v for col, v in row.items()}
        for row in rows
    ]


def to_year(value: str) -> str:
    """「2016-09」→「2016」(年月を年に)。

    Parameters
    ----------
    value : str
        「YYYY-MM」の形の年月。

    Returns
    -------
    str
        先頭 4 文字(年)。
    """
    return value[:4]


def to_week_band(value: str) -> str:
    """測定日数「6」→「1 週以内」、「8」→「1 週超」。

    Parameters
    ----------
    value : str
        測定日数 [日] を表す整数の文字列。

    Returns
    -------
    str
        「1 週以内」(7 日以下)か「1 週超」。
    """
    return "1 週以内" if int(value) <= 7 else "1 週超"


def suppressed(value: str) -> str:
    """値を消す(「*」にする)。

    Parameters
    ----------
    value : str
        消す値(使わない)。

    Returns
    -------
    str
        いつも「*」。
    """
    return "*"


def trace_features(glucose: np.ndarray) -> np.ndarray:
    """血糖値の記録 [mg/dL] の要約(診療でよく見る 8 つの数)。

    平均・標準偏差・10/50/90 パーセンタイル・70 未満と 180 超の時間の割合・
    隣り合う測定の差の絶対値の平均。

    Parameters
    ----------
    glucose : np.ndarray
        血糖値 [mg/dL]。形状 (T,)、T ≥ 2、有限な値

    Returns
    -------
    np.ndarray
        要約。形状 (8,)。割合は [%]、それ以外は [mg/dL]
    """
    g = np.asarray(glucose, dtype=np.float64)
    if g.ndim != 1 or len(g) < 2 or not np.all(np.isfinite(g)):
        raise ValueError(
            "glucose は長さ 2 以上の有限な 1 次元配列にしてください"
        )
    low, high = TARGET_RANGE
    return np.array(
        [
            g.mean(),
            g.std(),
            *np.percentile(g, [10, 50, 90]),
            100 * np.mean(g < low),
            100 * np.mean(g > high),
            np.abs(np.diff(g)).mean(),
        ]
    )


def halves(subject: SubjectCGM) -> tuple[np.ndarray, np.ndarray]:
    """記録を測定の数で前半と後半に分ける(前半: 攻撃者が知る部分)。

    Parameters
    ----------
    subject : SubjectCGM
        1 人の CGM の記録(測定の数 T)。

    Returns
    -------
    tuple[np.ndarray, np.ndarray]
        (前半, 後半) の血糖値 [mg/dL]。形状 (T // 2,) と (T - T // 2,)
    """
    n = len(subject.glucose) // 2
    return subject.glucose[:n], subject.glucose[n:]


def link_records(known: np.ndarray, released: np.ndarray) -> np.ndarray:
    """要約の最も近い公開記録を、知っている記録の持ち主とみなす(再識別)。

    Parameters
    ----------
    known : 攻撃者が知る記録の要約。形状 (n, F)
    released : 名前を消して公開された記録の要約。形状 (m, F)

    Returns
    -------
    np.ndarray
        known の各行について、最も近い released の行の番号。形状 (n,)
    """
    scale = released.std(axis=0) + 1e-12  # 特徴量ごとの広がりでそろえる
    diff = (known[:, None, :] - released[None, :, :]) / scale  # (n, m, F)
    return np.argmin(np.sum(diff**2, axis=2), axis=1)


def reidentification_rate(subjects: Sequence[SubjectCGM]) -> float:
    """前半の要約から、名前を消した後半の持ち主を当てられた割合。

    Parameters
    ----------
    subjects : Sequence[SubjectCGM]
        被験者の記録。各記録の前半を攻撃者が知り、後半が公開されるとみなす。

    Returns
    -------
    float
        正しく結び付けられた被験者の割合(0〜1)。
    """
    known, released = zip(*(halves(s) for s in subjects))
    guess = link_records(
        np.stack([trace_features(g) for g in known]),
        np.stack([trace_features(g) for g in released]),
    )
    return float(np.mean(guess == np.arange(len(subjects))))


def _runs_of_length(
    subject: SubjectCGM, length: int
) -> set[tuple[float, ...]]:
    """途切れのない区間の中の、length 回続く測定値の並びの集合。"""
    found: set[tuple[float, ...]] = set()
    for start, stop in split_segments(subject.minutes):
        g = subject.glucose[start:stop]
        for i in range(len(g) - length + 1):
            found.add(tuple(g[i : i + length]))
    return found


def unique_fraction(subjects: Sequence[SubjectCGM], length: int) -> float:
    """length 回続く測定値の並びのうち、ただ 1 人の記録にしか現れない割合。

    並びの種類(被験者ごとに重複を除いたもの)で数える。

    Parameters
    ----------
    subjects : Sequence[SubjectCGM]
        被験者の記録。並びは途切れのない区間の中だけから取る。
    length : int
        並びの長さ(測定の回数、1 以上)。

    Returns
    -------
    float
        1 人にしか現れない並びの種類の割合(0〜1)。
    """
    if length < 1:
        raise ValueError(
            f"length は 1 以上にしてください(受け取った値: {length})"
        )
    owners: Counter[tuple[float, ...]] = Counter()
    for s in subjects:
        owners.update(_runs_of_length(s, length))
    return float(np.mean([n == 1 for n in owners.values()]))
