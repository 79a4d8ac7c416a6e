"""コマンドラインから各章の実験を再現する: ``python -m medrnn rnn`` など。

本文のコードセルと同じ関数を同じシードで呼ぶので、同じ数値が出る。
"""

from __future__ import annotations

import argparse
import importlib
import sys

from tqdm import tqdm

from .evaluation import mean_std
from .experiments import LSTM_RECIPE, RNN_RECIPE, Recipe, baseline_mses, compare_over_seeds
from .experiments import prepare_data, train_recipe
from .models.nets import GRU_MODEL, LSTM_MODEL, RNN_MODEL, ModelConfig
from .repro import configure_torch, environment_summary

RECIPES = {"rnn": RNN_RECIPE, "lstm": LSTM_RECIPE}
# 各章の複数シード比較で学習するモデル(章の本文と同じ)
SEED_MODELS = {"rnn": {"rnn": RNN_MODEL},
               "lstm": {"rnn": RNN_MODEL, "lstm": LSTM_MODEL},
               "gru": {"rnn": RNN_MODEL, "lstm": LSTM_MODEL, "gru": GRU_MODEL}}
# 実データ・シミュレータの章: 各章の tasks モジュールの report() が主な結果を表示する
TASK_MODULES = {"cgm": "cgm_tasks", "glucose_sim": "glucose_sim_tasks",
                "vitals": "vitals_tasks"}
CHAPTERS = ("rnn", "lstm", "gru", "ecg", *TASK_MODULES)
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


def report_long_lag() -> None:
    """GRU の章の長い遅れの実験(遅れごとの平均正解率)を表示する。"""
    from .longlag import (CHAPTER_LAG_MODELS, CHAPTER_LAG_SEEDS, CHAPTER_LAGS,
                          lag_sweep, longest_reliable_lag)

    sweep = lag_sweep(CHAPTER_LAG_MODELS, list(CHAPTER_LAGS),
                      list(CHAPTER_LAG_SEEDS), progress=True)
    print("長い遅れの課題: 遅れごとの平均正解率("
          f"{len(CHAPTER_LAG_SEEDS)} シード)と、全シードで 0.9 以上を保った最長の遅れ")
    for name in CHAPTER_LAG_MODELS:
        accs = " ".join(f"{lag}:{acc:.2f}" for lag, acc in
                        zip(sweep.lags, sweep.accuracy[name].mean(axis=1)))
        print(f"  {name:<12} {accs}  最長 {longest_reliable_lag(sweep, name)}")


def report_ecg() -> None:
    """心電図の章の 2 つの課題(波形の予測と、形の違う拍の検出)を表示する。"""
    from . import ecg, ecg_tasks
    from .notebook import rows_to_markdown

    x = ecg.load_ecg()
    bounds = ecg_tasks.CHAPTER_SPLIT.bounds(len(x))
    table = ecg.label_beats(x, ecg.detect_r_peaks(x),
                            template_until=bounds["train"][1])
    fdata = ecg_tasks.prepare_forecast(x, ecg_tasks.CHAPTER_FORECAST)
    runs = {name: ecg_tasks.train_forecaster(
        kind, fdata, seed=0, train=ecg_tasks.CHAPTER_FORECAST_TRAIN)
        for name, kind in tqdm({"RNN": "rnn", "LSTM": "lstm", "GRU": "gru"}.items(),
                               desc="課題 A")}
    print(rows_to_markdown(ecg_tasks.forecast_summary_rows(
        ecg_tasks.forecast_baselines(fdata), runs, fdata.targets_mv("test"))))
    bdata = ecg_tasks.prepare_beats(x, table, ecg_tasks.CHAPTER_BEATS)
    print("課題 B を学習中(数十秒)...")
    beat_runs = ecg_tasks.compare_beat_classifiers(
        bdata, list(ecg_tasks.CHAPTER_SEEDS), ecg_tasks.CHAPTER_BEAT_TRAIN)
    print(rows_to_markdown(ecg_tasks.beat_summary_rows(beat_runs)))


def main(argv: list[str] | None = None) -> int:
    """コマンドラインの入口。"""
    parser = argparse.ArgumentParser(prog="python -m medrnn",
                                     description="本書の各章の実験を再現する")
    parser.add_argument("chapter", choices=CHAPTERS, help="章")
    parser.add_argument("--seed", type=int, default=0, help="本文の学習のシード")
    parser.add_argument("--seeds", type=int, default=5,
                        help="比較に使うシードの数(0 で省略)")
    args = parser.parse_args(argv)
    configure_torch()
    print(" / ".join(f"{k}: {v}" for k, v in environment_summary().items()))
    if args.chapter == "ecg":
        report_ecg()
        return 0
    if args.chapter in TASK_MODULES:
        importlib.import_module(f".{TASK_MODULES[args.chapter]}", __package__).report()
        return 0
    if args.chapter == "gru":  # GRU の章: サイン波の 3 シード比較と長い遅れの課題
        report_seeds(LSTM_RECIPE, SEED_MODELS["gru"], 3)
        report_long_lag()
        return 0
    recipe = RECIPES[args.chapter]
    report_main_run(recipe, args.seed)
    if args.seeds >= 2:
        report_seeds(recipe, SEED_MODELS[args.chapter], args.seeds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
