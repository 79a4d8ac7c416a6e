"""``nn.LSTM`` を実際に動かして、パラメータと出力の形状を確かめる道具。

LSTM の章で、引数(``num_layers``・``bidirectional`` など)を変えたときに
``output``・``h_n``・``c_n`` の形がどう変わるか、重みがどんな形で
いくつあるかを、文章で断言する代わりに実行して示すために使う。
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


def _check_positive_int(name: str, value: object) -> None:
    """value が 1 以上の整数(bool は除く)でなければ ValueError。"""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"{name} は 1 以上の整数にしてください(受け取った値: {value!r})"
        )


@dataclass(frozen=True)
class LSTMShapeCase:
    """形状を調べる ``nn.LSTM`` の設定と、流し込む入力の大きさ。"""

    input_size: int = 1  # 各時刻の特徴量の数
    hidden_size: int = 50  # 隠れ状態・セル状態の次元 H
    num_layers: int = 1  # LSTM を積む段数
    bidirectional: bool = False  # 逆向きにも読むか
    batch_size: int = 32  # 一度に流す系列の数
    seq_len: int = 10  # 系列の長さ(窓の長さ)

    def __post_init__(self) -> None:
        """大きさがどれも 1 以上の整数かを確かめる(違えば ValueError)。"""
        for name in (
            "input_size",
            "hidden_size",
            "num_layers",
            "batch_size",
            "seq_len",
        ):
            _check_positive_int(name, getattr(self, name))
        if not isinstance(self.bidirectional, bool):
            raise ValueError(
                "bidirectional は True か False にしてください"
                f"(受け取った値: {self.bidirectional!r})"
            )

    @property
    def num_directions(self) -> int:
        """読む向きの数。単方向なら 1、双方向なら 2。"""
        return 2 if self.bidirectional else 1


@dataclass
class LSTMRun:
    """``nn.LSTM`` を 1 回動かした結果(batch_first=True)。"""

    case: LSTMShapeCase  # 使った設定
    lstm: nn.LSTM  # 作った層
    x: torch.Tensor  # 入力。形状 (batch, seq_len, input_size)
    output: torch.Tensor  # 最終層の全時刻の h。(batch, seq_len, D*H)
    h_n: torch.Tensor  # 全層・全方向の最後の h。(num_layers*D, batch, H)
    c_n: torch.Tensor  # 全層・全方向の最後の C。(num_layers*D, batch, H)


def run_lstm(case: LSTMShapeCase, seed: int = 0) -> LSTMRun:
    """設定どおりの ``nn.LSTM`` を作り、乱数の入力を 1 回流す。

    Parameters
    ----------
    case, seed : 層と入力の大きさと、乱数のシード(呼び出し側の乱数は不変)

    Returns
    -------
    LSTMRun : 層・入力 x・output・h_n・c_n
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        lstm = nn.LSTM(
            input_size=case.input_size,
            hidden_size=case.hidden_size,
            num_layers=case.num_layers,
            bidirectional=case.bidirectional,
            batch_first=True,
        )
        x = torch.randn(case.batch_size, case.seq_len, case.input_size)
    with torch.no_grad():
        output, (h_n, c_n) = lstm(x)  # 初期状態 h_0, c_0 は 0
    return LSTMRun(case, lstm, x, output, h_n, c_n)


def _check_cases(cases: list[LSTMShapeCase]) -> None:
    """表にする設定が 1 つ以上あるかを確かめる。"""
    if not cases:
        raise ValueError(
            "cases が空です。LSTMShapeCase を 1 つ以上渡してください"
        )


def _case_columns(case: LSTMShapeCase) -> dict[str, str]:
    """表の行の先頭の 2 列: 層の数と双方向かどうか。"""
    return {
        "num_layers": str(case.num_layers),
        "bidirectional": str(case.bidirectional),
    }


def shape_rows(
    cases: list[LSTMShapeCase], seed: int = 0
) -> list[dict[str, str]]:
    """設定ごとに 1 行: 入力と output・h_n・c_n の形状。

    Parameters
    ----------
    cases : list[LSTMShapeCase]
        調べる設定(1 つ以上)。
    seed : int
        重みと入力の乱数のシード。

    Returns
    -------
    list[dict[str, str]]
        設定ごとの表の行(形状は ``(batch, seq_len, ...)`` の文字列)。
    """
    _check_cases(cases)
    rows = []
    for case in cases:
        run = run_lstm(case, seed)
        rows.append(
            {
                **_case_columns(case),
                "input": str(tuple(run.x.shape)),
                "output": str(tuple(run.output.shape)),
                "h_n": str(tuple(run.h_n.shape)),
                "c_n": str(tuple(run.c_n.shape)),
            }
        )
    return rows


def expected_parameter_count(
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
) -> int:
    """``nn.LSTM`` のパラメータ数を式から数える。

    1 層・1 方向あたり 4 × (H × (I + H) + 2H)。4 はゲートの数、
    2H は 2 本のバイアス(b_ih と b_hh)。2 層目以降の入力の次元 I は
    下の層の出力の次元 D × H になる。
    """
    case = LSTMShapeCase(input_size, hidden_size, num_layers, bidirectional)
    total, layer_input = 0, input_size
    for _ in range(num_layers):
        per_direction = 4 * (
            hidden_size * (layer_input + hidden_size) + 2 * hidden_size
        )
        total += case.num_directions * per_direction
        layer_input = case.num_directions * hidden_size
    return total


def parameter_rows(lstm: nn.LSTM) -> list[dict[str, str]]:
    """重み・バイアスごとに 1 行: 名前、形状、要素の数。

    Parameters
    ----------
    lstm : nn.LSTM
        調べる層。

    Returns
    -------
    list[dict[str, str]]
        パラメータごとの表の行。

    Raises
    ------
    ValueError
        nn.LSTM でないものを渡したとき。
    """
    if not isinstance(lstm, nn.LSTM):
        raise ValueError(
            f"nn.LSTM を渡してください(受け取った型: {type(lstm).__name__})"
        )
    return [
        {"名前": name, "形状": str(tuple(p.shape)), "要素数": str(p.numel())}
        for name, p in lstm.named_parameters()
    ]


def last_step_gaps(run: LSTMRun) -> dict[str, float]:
    """output の端の時刻と最終層の h_n の差(最大絶対値)を比べる。

    h_n の並びは [層0順, (層0逆), 層1順, (層1逆), ...] なので、
    最終層の順方向は h_n[-D]、逆方向は h_n[-1]。
    """
    H, D = run.case.hidden_size, run.case.num_directions

    def gap(a: torch.Tensor, b: torch.Tensor) -> float:
        return float((a - b).abs().max())

    gaps = {
        "`output[:, -1, :H]` と `h_n[-D]`(最終層・順方向)": gap(
            run.output[:, -1, :H], run.h_n[-D]
        )
    }
    if D == 2:
        gaps["`output[:, -1, H:]` と `h_n[-1]`(最終層・逆方向)"] = gap(
            run.output[:, -1, H:], run.h_n[-1]
        )
        gaps["`output[:, 0, H:]` と `h_n[-1]`(最終層・逆方向)"] = gap(
            run.output[:, 0, H:], run.h_n[-1]
        )
    return gaps


def relation_rows(
    cases: list[LSTMShapeCase], seed: int = 0, atol: float = 1e-6
) -> list[dict[str, str]]:
    """設定と比較ごとに 1 行: 差の最大絶対値と、一致するかどうか。

    Parameters
    ----------
    cases, seed : :func:`shape_rows` と同じ
    atol : 一致とみなす差の最大絶対値

    Returns
    -------
    list[dict[str, str]]
        (設定, 比べたもの) ごとの表の行。
    """
    _check_cases(cases)
    rows = []
    for case in cases:
        for name, value in last_step_gaps(run_lstm(case, seed)).items():
            rows.append(
                {
                    **_case_columns(case),
                    "比べたもの": name,
                    "差の最大絶対値": f"{value:.1e}",
                    "一致": "はい" if value <= atol else "いいえ",
                }
            )
    return rows
