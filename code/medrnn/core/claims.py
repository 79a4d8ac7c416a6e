"""章の主張の検査: 本文が述べる頑健な事実を、実行結果に照らして確かめる。

各章のモジュールは ``check_claims(results) -> list[str]`` を持ち、成り立たない
主張の文を返す。章の最後の隠しセルは :func:`require` を呼ぶだけにする。
ここで確かめるのは、どの機械・どのシードでも成り立つはずの主張だけ
(例: 患者が 2 つの組にまたがらない、漏れのある補完は欠測なしより良く見える)。
手法の優劣の向きは確かめずに、:mod:`medrnn.core.compare` の判定から文を作る。
"""

from __future__ import annotations

from collections.abc import Mapping


class ClaimError(AssertionError):
    """本文の主張が実行結果と合わないときに送出する。"""


def failed(claims: Mapping[str, bool]) -> list[str]:
    """主張の文 → 成り立つか の対応から、成り立たない主張の文を返す。

    Parameters
    ----------
    claims : Mapping[str, bool]
        本文の主張の文 → 実行結果でそれが成り立つか。

    Returns
    -------
    list[str]
        成り立たない主張の文(なければ空のリスト)。
    """
    return [text for text, holds in claims.items() if not bool(holds)]


def require(failures: list[str]) -> None:
    """成り立たない主張があれば、その文を並べて ClaimError を送出する。

    Parameters
    ----------
    failures : list[str]
        成り立たない主張の文(:func:`failed` の戻り値)。

    Raises
    ------
    ClaimError
        failures が空でないとき。
    """
    if failures:
        raise ClaimError(
            "本文の主張が実行結果と合いません:\n- " + "\n- ".join(failures)
        )


def claims_summary(failures: list[str]) -> str:
    """検査の結果の 1 行: すべて成り立つか、成り立たない主張の文の並び。

    Parameters
    ----------
    failures : list[str]
        :func:`require` と同じ。

    Returns
    -------
    str
        本文や表の注に出す 1 行。
    """
    if not failures:
        return "すべて成り立ちました"
    return "成り立たない主張 " + " / ".join(failures)
