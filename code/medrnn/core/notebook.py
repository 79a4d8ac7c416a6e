"""各章の最初のセルで呼ぶ準備関数。"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from .plotting import setup_japanese_font, use_book_figure_formats
from .repro import configure_torch, environment_summary, set_seed

# IPython はノートブックの中だけで使う(コマンドラインでは不要)
if TYPE_CHECKING:
    from IPython.display import Markdown

    from .compare import Comparison


def setup_chapter(seed: int = 0) -> torch.device:
    """乱数シード・スレッド数・日本語フォント・図の形式をまとめて設定する。

    NumPy のスカラーは ``0.66`` のように表示させる(NumPy 2 の既定の
    ``np.float64(0.66)`` のままだと、glue した値を本文で書式化できない)。

    Parameters
    ----------
    seed : 乱数のシード(環境変数 MEDRNN_SEED_OFFSET の分はずらす)

    Returns
    -------
    torch.device
        計算に使うデバイス(CUDA があれば CUDA)。
    """
    device = configure_torch()
    set_seed(seed)
    np.set_printoptions(legacy="1.25")
    setup_japanese_font()
    use_book_figure_formats()
    return device


def environment_markdown() -> Markdown:
    """ビルド環境(Python・主要パッケージの版など)を Markdown の表にして
    返す。

    Returns
    -------
    IPython.display.Markdown
        「項目 | 値」の 2 列の表。
    """
    from IPython.display import Markdown

    configure_torch()  # 本文の学習と同じスレッド数を表示する
    rows = "\n".join(
        f"| {k} | {v} |" for k, v in environment_summary().items()
    )
    return Markdown("| 項目 | 値 |\n|---|---|\n" + rows)


def rows_to_markdown(rows: list[dict[str, str]]) -> str:
    """辞書の並びを Markdown の表にする(列は最初の行のキーの順)。

    Parameters
    ----------
    rows : list[dict[str, str]]
        表の行。どの行も同じキーを同じ順に持つ。

    Returns
    -------
    str
        Markdown の表(負の数の符号はマイナス記号)。
    """
    if not rows:
        raise ValueError("rows が空なので表を作れません")
    keys = list(rows[0])
    if any(list(row) != keys for row in rows):
        raise ValueError(
            f"すべての行が同じキー {keys} を同じ順に持つ必要があります"
        )
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row[k]) for k in keys) + " |")
    return "\n".join(lines)


def _cell(value: object) -> str:
    """表のセルの文字。負の数の符号はマイナス記号(U+2212)にする。

    ハイフンのままだと、PDF の狭い列で「-」と数字が別の行に分かれ、
    正の数に読めてしまう。
    """
    return re.sub(r"(?<![\w.])-(?=\d)", "\u2212", str(value))


def glue_comparison(
    key: str, result: Comparison, unit: str = "", digits: int = 2
) -> None:
    """比較の結果を本文用に glue する(表示はしない)。

    ``{key}_diff``・``{key}_low``・``{key}_high``(数値)、``{key}_wins``
    (「4/5」)、``{key}_verdict``(「良い」「悪い」「判断できない」)、
    ``{key}_text``(差・区間・勝ち数・判定の 1 行)を作る。

    Parameters
    ----------
    key : str
        glue する名前の頭。
    result : Comparison
        :mod:`medrnn.core.compare` の比較の結果。
    unit : str
        ``_text`` に付ける単位(例: "mg/dL")。
    digits : int
        ``_text`` の小数点以下の桁数。
    """
    from myst_nb import glue

    from .compare import describe

    values: dict[str, object] = {
        "diff": result.mean_diff,
        "low": result.low,
        "high": result.high,
        "wins": f"{result.wins}/{result.n}",
        "verdict": result.verdict_ja,
        "text": describe(result, unit, digits),
    }
    for name, value in values.items():
        glue(f"{key}_{name}", value, display=False)


def build_times_markdown(path: str | Path) -> Markdown:
    """``scripts/measure_build.sh --json`` の記録を Markdown の表にする。

    Parameters
    ----------
    path : str or Path
        記録の JSON(ビルド時間の秒数と、章ごとの実行秒数)。

    Returns
    -------
    IPython.display.Markdown
        ビルドと章ごとの秒数の表(記録がなければその旨の 1 文)。
    """
    import json

    from IPython.display import Markdown

    if not Path(path).is_file():  # 測る前の写し(measure_build.sh の中)など
        return Markdown(f"記録 `{path}` がまだありません。")
    record = json.loads(Path(path).read_text(encoding="utf-8"))
    rows = [
        {"ビルド": name, "秒": f"{record[key]:.1f}"}
        for key, name in BUILD_TIME_NAMES.items()
        if record.get(key) is not None
    ]
    if record.get("baseline_seconds"):
        ratio = record["clean_seconds"] / record["baseline_seconds"]
        rows.append(
            {
                "ビルド": "クリーンビルドの比(今 ÷ 基準)",
                "秒": f"{ratio:.2f} 倍",
            }
        )
    table = rows_to_markdown(rows)
    return Markdown(
        f"{table}\n\n計測: {record.get('measured', '')}、"
        f"CPU {record['cpu_count']} コア、基準のコミット "
        f"{record.get('baseline') or '(なし)'}、"
        f"計算の経路: {record.get('kernels', '(記録なし)')}"
    )


BUILD_TIME_NAMES = {
    "baseline_seconds": "基準のコミットのクリーンビルド",
    "clean_seconds": "クリーンビルド(全章を実行)",
    "noop_seconds": "何も変えずにもう一度",
    "prose_only_seconds": "1 章の本文だけを変えて",
}

# 本文を読む速さの目安 [字/分](数式・表の多い技術書の日本語を、
# 考えながら読む速さ。黙読の 500〜600 字/分より遅めにとる)
READING_CHARS_PER_MINUTE = 400
_CODE_CELL = re.compile(r"^```\{code-cell\}.*?^```", re.DOTALL | re.MULTILINE)
_DIRECTIVE_OPTION = re.compile(r"^:[\w-]+:.*$", re.MULTILINE)
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)


def reading_minutes(
    path: str | Path, chars_per_minute: int = READING_CHARS_PER_MINUTE
) -> int:
    """章の本文(コードセルと前付けを除く)を読むのにかかる分数の目安。

    Parameters
    ----------
    path : str or Path
        章の MyST Markdown ファイル。
    chars_per_minute : int
        読む速さ [字/分]。正の整数。

    Returns
    -------
    int
        5 分単位に丸めた分数(最低 5 分)。
    """
    if chars_per_minute <= 0:
        raise ValueError(
            f"chars_per_minute は正の整数にしてください: {chars_per_minute}"
        )
    text = Path(path).read_text(encoding="utf-8")
    text = _FRONT_MATTER.sub("", text)
    text = _DIRECTIVE_OPTION.sub("", _CODE_CELL.sub("", text))
    n_chars = len(re.sub(r"\s", "", text))
    return max(5, 5 * round(n_chars / chars_per_minute / 5))


@dataclass(frozen=True)
class ExecBudget:
    """``book/exec_budget.json``: 章ごとの実行秒数の記録と、許す係数。

    記録は 2 コアの機械で測った秒数。CI は 係数 × 記録 を上限にする。
    """

    factor: float  # 記録の何倍まで許すか
    seconds: dict[str, float]  # 文書名(``book/cgm`` など)→ 記録した秒数

    @classmethod
    def read(cls, budget_path: str | Path) -> ExecBudget:
        """予算ファイル(本書で唯一の読み手)を読む。

        Parameters
        ----------
        budget_path : str or Path
            ``book/exec_budget.json`` のパス。

        Returns
        -------
        ExecBudget
            係数と、文書名 → 秒数。
        """
        import json

        record = json.loads(Path(budget_path).read_text(encoding="utf-8"))
        seconds = {name: float(s) for name, s in record["章"].items()}
        return cls(float(record["係数"]), seconds)


def recorded_run_seconds(budget_path: str | Path) -> dict[str, float]:
    """``book/exec_budget.json`` に記録した、章ごとの実行秒数
    (2 コアの機械で計測)。

    Parameters
    ----------
    budget_path : str or Path
        予算ファイルのパス。

    Returns
    -------
    dict[str, float]
        文書名(``book/cgm`` など)→ 秒数。
    """
    return ExecBudget.read(budget_path).seconds
