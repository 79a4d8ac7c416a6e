"""各章の実行時間が予算(記録した秒数 × 係数)を超えていないか確かめる。

使い方: python scripts/check_exec_budget.py
    [_build/exec_times.json] [book/exec_budget.json]

予算ファイルは {"係数": 3, "章": {"book/rnn": 秒数, ...}}。
記録した秒数は 2 コアの CI 相当の機械で測った値で、騒がしい機械でも
落ちないよう係数倍まで許す。
予算に載っていない章が実行されていたら、それも失敗にする(記録し忘れを防ぐ)。
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from medrnn.core.notebook import ExecBudget


def check(times: dict[str, float], budget: ExecBudget) -> list[str]:
    """予算を超えた章などの問題を文章で返す(問題がなければ空リスト)。"""
    factor, recorded = budget.factor, budget.seconds
    problems = []
    for doc, seconds in sorted(times.items()):
        if doc not in recorded:
            problems.append(f"{doc}: 予算が未登録です(今回 {seconds:.1f} 秒)")
        elif seconds > factor * recorded[doc]:
            problems.append(
                f"{doc}: {seconds:.1f} 秒 > "
                f"上限 {factor * recorded[doc]:.1f} 秒"
                f"(記録 {recorded[doc]} 秒 × {factor})"
            )
    return problems


def main(argv: list[str]) -> int:
    times_path = Path(argv[0] if argv else "_build/exec_times.json")
    budget_path = Path(argv[1] if len(argv) > 1 else "book/exec_budget.json")
    if not times_path.is_file():
        print(
            f"{times_path} がありません。先に make html を実行してください",
            file=sys.stderr,
        )
        return 2
    times = json.loads(times_path.read_text())
    problems = check(times, ExecBudget.read(budget_path))
    for doc, seconds in sorted(times.items()):
        print(f"{doc}: {seconds:.1f} 秒")
    for p in problems:
        print("予算超過:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
