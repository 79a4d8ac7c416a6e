"""コマンドラインから各章の実験を再現する: ``python -m medrnn rnn`` など。

本文のコードセルと同じ関数を同じシードで呼ぶので、同じ数値が出る。
"""

from __future__ import annotations

import argparse
import sys

from .evaluation import mean_std
from .experiments import LSTM_RECIPE, RNN_RECIPE, Recipe, baseline_mses, compare_over_seeds
from .experiments import prepare_data, train_recipe
from .models.nets import LSTM_MODEL, RNN_MODEL, ModelConfig
from .repro import configure_torch, environment_summary

RECIPES = {"rnn": RNN_RECIPE, "lstm": LSTM_RECIPE}
# 各章の複数シード比較で学習するモデル(章の本文と同じ)
SEED_MODELS = {"rnn": {"rnn": RNN_MODEL},
               "lstm": {"rnn": RNN_MODEL, "lstm": LSTM_MODEL}}
NAMES = {"persistence": "持続予測(直前の値)", "window_mean": "窓の平均",
         "linear_ar": "線形 AR(10 ラグ)", "rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def report_main_run(recipe: Recipe, seed: int) -> None:
    """章の本文と同じ 1 回の学習を行い、テスト誤差と基準法を表示する。"""
    data = prepare_data(recipe)
    run = train_recipe(recipe, data, seed)
    print(f"学習: {recipe.train.epochs} エポック、{run.seconds:.1f} 秒")
    print(f"テスト MSE = {run.test_mse:.4f}、RMSE = {run.test_mse ** 0.5:.4f}"
          f"(ノイズフロア σ² = {recipe.sine.noise_variance:.4f})")
    for name, value in baseline_mses(data).items():
        print(f"  {NAMES[name]:<16} MSE = {value:.4f}")


def report_seeds(recipe: Recipe, models: dict[str, ModelConfig], n_seeds: int) -> None:
    """複数シードでの平均 ± 標準偏差を表示する。"""
    results = compare_over_seeds(recipe, list(range(n_seeds)), models, progress=True)
    print(f"{n_seeds} シードのテスト MSE(平均 ± 標準偏差):")
    for name, values in results.items():
        mean, std = mean_std(values)
        print(f"  {NAMES[name]:<16} {mean:.4f} ± {std:.4f}")


def main(argv: list[str] | None = None) -> int:
    """コマンドラインの入口。"""
    parser = argparse.ArgumentParser(prog="python -m medrnn",
                                     description="本書の各章の実験を再現する")
    parser.add_argument("chapter", choices=sorted(RECIPES), help="章")
    parser.add_argument("--seed", type=int, default=0, help="本文の学習のシード")
    parser.add_argument("--seeds", type=int, default=5,
                        help="比較に使うシードの数(0 で省略)")
    args = parser.parse_args(argv)
    configure_torch()
    print(" / ".join(f"{k}: {v}" for k, v in environment_summary().items()))
    recipe = RECIPES[args.chapter]
    report_main_run(recipe, args.seed)
    if args.seeds >= 2:
        report_seeds(recipe, SEED_MODELS[args.chapter], args.seeds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
