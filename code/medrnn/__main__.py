"""コマンドラインから各章の実験を再現する: ``python -m medrnn rnn`` など。

各章のモジュール ``medrnn.chapters.<章>`` の ``report()`` を呼ぶだけの入口。
本文のコードセルと同じ関数を同じシードで呼ぶので、同じ数値が出る。
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .core.repro import configure_torch, environment_summary

CHAPTERS = (
    "rnn",
    "lstm",
    "gru",
    "ecg",
    "cgm",
    "glucose_sim",
    "vitals",
    "attention",
    "trust",
    "privacy",
)


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"0 以上の整数にしてください: {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """引数の定義(全章で共通)。

    Returns
    -------
    argparse.ArgumentParser
        章の名前と ``--seed``・``--seeds`` を受け取る解析器。
    """
    parser = argparse.ArgumentParser(
        prog="python -m medrnn", description="本書の各章の実験を再現する"
    )
    parser.add_argument("chapter", choices=CHAPTERS, help="章")
    parser.add_argument(
        "--seed",
        type=_non_negative,
        default=0,
        help="本文の 1 回の学習のシード(既定 0)",
    )
    parser.add_argument(
        "--seeds",
        type=_non_negative,
        default=5,
        help="比較に使うシードの数(既定 5。0 で比較を省略)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """コマンドラインの入口: 章のモジュールの report() を呼ぶ。

    Parameters
    ----------
    argv : list[str] or None
        引数(None ならコマンドラインの引数)。

    Returns
    -------
    int
        終了コード(0)。
    """
    args = build_parser().parse_args(argv)
    configure_torch()
    print(" / ".join(f"{k}: {v}" for k, v in environment_summary().items()))
    module = importlib.import_module(f".chapters.{args.chapter}", __package__)
    module.report(seed=args.seed, n_seeds=args.seeds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
