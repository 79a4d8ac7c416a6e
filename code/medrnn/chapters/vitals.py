"""複数のバイタルの章(book/vitals.md)の設定・比較・主張の検査・report()。

章の本文とコマンドライン ``python -m medrnn vitals`` は、ここの設定を共有する。
手法どうしの比較は :mod:`medrnn.core.compare` を通し、向きの言葉は判定から
作る。:func:`check_claims` が確かめるのは、どの機械・どのシードでも成り立つ
はずの主張だけ(設定の選び方、テスト窓のそろい方、未来の情報の混入の大きさ)。
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..core.claims import claims_summary, failed
from ..core.compare import (
    Comparison,
    compare_predictions,
    compare_seeds,
    comparison_row,
    time_blocks,
)
from ..core.training import TrainConfig
from ..vitals.data import derive_series, load_recording
from ..vitals.tasks import (
    INPUT_NAMES,
    INPUT_SETS,
    MODEL_NAMES,
    FitResult,
    MissingConfig,
    Study,
    VitalsForecastConfig,
    WindowData,
    compare_vital_inputs,
    input_rows,
    missing_sweep,
    persistence_pred,
    prepare_windows,
    rmse_bpm,
    spot_check_sweep,
    spot_rows,
    sweep_rows,
    validation_grid,
)

CHAPTER_STEP_S = 0.5  # 格子の間隔 [s](2 Hz)
CHAPTER_FORECAST = VitalsForecastConfig()
CHAPTER_TRAIN = TrainConfig(epochs=30, batch_size=64, lr=2e-2)
# 早期終了の我慢の回数。検証損失は最初の数エポック上下しながらほとんど
# 下がらず、3 では短すぎた(心拍数だけの GRU が 1 エポック目の重みで止まった)
CHAPTER_PATIENCE = 6
CHAPTER_SEEDS = (0, 1, 2, 3, 4)
# 学習の設定の候補(検証区間の RMSE で CHAPTER_TRAIN・CHAPTER_PATIENCE を選んだ)
CHAPTER_CANDIDATES = (
    (TrainConfig(epochs=15, batch_size=64, lr=1e-2), 3),  # 最初の設定
    (TrainConfig(epochs=40, batch_size=64, lr=1e-3), 5),
    (TrainConfig(epochs=30, batch_size=64, lr=3e-3), 5),
    (TrainConfig(epochs=30, batch_size=64, lr=1e-2), 6),
    (TrainConfig(epochs=30, batch_size=32, lr=1e-2), 6),
    (TrainConfig(epochs=30, batch_size=64, lr=2e-2), 6),  # 選んだ設定
)
# 欠測なしで、2 つの入力の組で比べるモデル。CPU では RNN と GRU の学習が
# LSTM の数倍遅いので、RNN は設定選びだけ、GRU は心拍数だけの入力
# (設定選びの話)に使う
CHAPTER_KINDS = ("linear", "lstm")
CHAPTER_UNI_KINDS = ("gru",)
RECURRENT_KINDS = ("rnn", "lstm", "gru")  # 学習の設定を選んだモデル
CHAPTER_MISSING = (MissingConfig("mcar", 0.5), MissingConfig("mcar", 0.75))
# 塊の欠測は線形モデルだけで試す(章の実行時間を 60 秒に収めるため)
CHAPTER_BLOCK_MISSING = (MissingConfig("block", 0.5),)
CHAPTER_STRATEGIES = ("mean", "locf", "interp", "mask_delta", "leaky")
CHAPTER_SWEEP_KINDS = ("linear", "lstm")
CHAPTER_SPOT_GAP_S = 5.0  # スポット測定の平均の間隔 [s]
CHAPTER_SPOT_STRATEGIES = ("locf", "mask_delta", "leaky")
CHAPTER_BLOCK = 40  # テスト区間のブートストラップのブロック(窓 40 個 = 20 秒)
# 判定 → 本文の述語(「A の誤差は B と比べて …」)。phrase に渡す
DIRECTION_WORDS = (
    "小さくなりました",
    "大きくなりました",
    "小さくなったのか大きくなったのか、このデータでは判断できませんでした",
)
# 未来も使う補間が欠測なしより小さく見える幅の下限 [bpm](主張の検査)
LEAK_MARGIN_BPM = 0.1


def window_errors(runs: list[FitResult], data: WindowData) -> np.ndarray:
    """テスト区間の誤差(予測 − 正解)[bpm]。形状 (n_seeds, n_windows)

    Parameters
    ----------
    runs : list[FitResult]
        同じモデル・同じ入力の組を、シードごとに学習した結果。
    data : WindowData
        テストの正解の心拍数を取り出す窓。

    Returns
    -------
    np.ndarray
        シードごとの行の誤差 [bpm]。形状 (n_seeds, n_windows)
    """
    return np.stack([r.test_pred_bpm for r in runs]) - data.target_bpm("test")


def _test(
    results: dict[tuple[str, str], list[FitResult]], key: tuple[str, str]
) -> np.ndarray:
    return np.array([r.test_rmse_bpm for r in results[key]])


def input_comparisons(
    results: dict[tuple[str, str], list[FitResult]],
    uni: WindowData,
    block: int = CHAPTER_BLOCK,
) -> dict[str, Comparison]:
    """欠測なしの比較: 入力の組どうし、モデルと持続予測、再帰型と線形。

    再帰型モデルの入力の組の比較はシードで対応させ(``gain_*``)、同じ
    テスト窓の予測どうしの比較は時間のブロックのブートストラップで行う。

    Parameters
    ----------
    results : dict[tuple[str, str], list[FitResult]]
        (入力の組 "uni"・"multi", モデル) → シードごとの学習結果。
    uni : WindowData
        心拍数だけの窓(持続予測と正解、テスト窓の数に使う)。
    block : int
        ブートストラップで 1 まとまりにする連続したテスト窓の数。

    Returns
    -------
    dict[str, Comparison]
        "gain_*"(3 チャネル − 心拍数だけ)、"linear_*"(モデル − 線形)、
        "persist_*"(モデル − 持続予測)→ RMSE の差 [bpm] の比較。
    """
    groups = time_blocks(len(uni.ends["test"]), block)
    persist = uni.to_bpm(persistence_pred(uni)) - uni.target_bpm("test")
    err = {key: window_errors(runs, uni) for key, runs in results.items()}
    kinds = [k for i, k in results if i == "uni"]  # 結果にあるモデル
    both = [k for k in kinds if k != "linear" and ("multi", k) in results]
    kw: dict[str, Any] = {"groups": groups, "unit_name": "ブロック"}
    out = {
        "gain_linear": compare_predictions(
            err["multi", "linear"],
            err["uni", "linear"],
            names=("3 チャネルの線形", "心拍数だけの線形"),
            **kw,
        )
    }
    for k in both:
        name = MODEL_NAMES[k]
        out[f"gain_{k}"] = compare_seeds(
            _test(results, ("multi", k)),
            _test(results, ("uni", k)),
            names=(f"3 チャネルの {name}", f"心拍数だけの {name}"),
        )
    for k in (k for k in kinds if k != "linear"):
        name = MODEL_NAMES[k]
        out[f"linear_{k}"] = compare_predictions(
            err["uni", k], err["uni", "linear"], names=(name, "線形"), **kw
        )
    for k in kinds:
        out[f"persist_{k}"] = compare_predictions(
            err["uni", k], persist, names=(MODEL_NAMES[k], "持続予測"), **kw
        )
    return out


# 比べる組: 比較の名前 → (A の (埋め方, モデル), B の (埋め方, モデル))
PAIRS = {
    "mean_linear": (("mean", "linear"), ("locf", "linear")),
    "mean_lstm": (("mean", "lstm"), ("locf", "lstm")),
    "interp_lstm": (("interp", "lstm"), ("locf", "lstm")),
    "md_linear": (("mask_delta", "linear"), ("locf", "linear")),
    "md_lstm": (("mask_delta", "lstm"), ("locf", "lstm")),
    "lstm_linear": (("locf", "lstm"), ("locf", "linear")),
    "leaky_lstm": (("leaky", "lstm"), ("locf", "lstm")),
    "md_lstm_persist": (("mask_delta", "lstm"), ("locf", "persist")),
    "locf_lstm_persist": (("locf", "lstm"), ("locf", "persist")),
    "linear_persist": (("locf", "linear"), ("locf", "persist")),
}
# 欠測の設定ごとの比較(sweep_comparisons)と、スポット測定での比較
# (spot_comparisons)で使う組(この順に表に並ぶ)
SWEEP_KEYS = (
    "mean_linear",
    "mean_lstm",
    "interp_lstm",
    "md_linear",
    "md_lstm",
    "lstm_linear",
)
SPOT_KEYS = (
    "md_lstm",
    "leaky_lstm",
    "md_lstm_persist",
    "locf_lstm_persist",
    "md_linear",
    "linear_persist",
)
# 比較の表の短い手法名: 埋め方 → 名前、モデル → 名前
PAIR_STRATEGY_NAMES = {
    "mean": "平均",
    "locf": "LOCF",
    "interp": "過去の補間",
    "mask_delta": "マスク付き",
    "leaky": "未来も使う補間",
}
PAIR_KIND_NAMES = {"linear": "線形", "lstm": "LSTM"}


def _method_name(strategy: str, kind: str) -> str:
    """比較の表の手法名(例: 「マスク付き(LSTM)」、持続予測は「持続予測」)。"""
    if kind == "persist":
        return "持続予測"
    return f"{PAIR_STRATEGY_NAMES[strategy]}({PAIR_KIND_NAMES[kind]})"


def _seed_pairs(
    values: dict, keys: tuple[str, ...], prefix: tuple = ()
) -> dict[str, Comparison]:
    """PAIRS の組 keys ごとに、values[(*prefix, 埋め方, モデル)] をシードで
    対応させて比べる。
    """
    out = {}
    for name in keys:
        a, b = PAIRS[name]
        out[name] = compare_seeds(
            values[(*prefix, *a)],
            values[(*prefix, *b)],
            names=(_method_name(*a), _method_name(*b)),
        )
    return out


def sweep_comparisons(
    sweep: dict[tuple[MissingConfig, str, str], list[float]],
    setting: MissingConfig,
) -> dict[str, Comparison]:
    """1 つの欠測の設定での、埋め方どうし・モデルどうしの比較
    (シードで対応)。

    Parameters
    ----------
    sweep : dict[tuple[MissingConfig, str, str], list[float]]
        (欠測の設定, 埋め方, モデル) → シードごとのテスト RMSE [bpm]。
    setting : MissingConfig
        比べる欠測の設定(sweep のキーにあること)。

    Returns
    -------
    dict[str, Comparison]
        SWEEP_KEYS の順に、PAIRS の組の名前 → RMSE の差 A − B の比較。
    """
    return _seed_pairs(sweep, SWEEP_KEYS, (setting,))


def spot_comparisons(
    spot: dict[tuple[str, str], list[float]],
) -> dict[str, Comparison]:
    """スポット測定での比較(シードごとに測定の時刻が同じなので対応させる)。

    比べる組は SPOT_KEYS の順で、PAIRS の定義を使う。

    Parameters
    ----------
    spot : dict[tuple[str, str], list[float]]
        (埋め方, モデル) → シード順のテスト RMSE [bpm]。持続予測は
        モデルを "persist" とする。

    Returns
    -------
    dict[str, Comparison]
        SPOT_KEYS の組の名前 → シードで対応させた比較。
    """
    return _seed_pairs(spot, SPOT_KEYS)


def check_claims(
    results: dict[tuple[str, str], list[FitResult]],
    sweep: dict[tuple[MissingConfig, str, str], list[float]],
    spot: dict[tuple[str, str], list[float]],
    train: TrainConfig,
    patience: int,
    margin: float = LEAK_MARGIN_BPM,
    candidates: tuple[tuple[TrainConfig, int], ...] = CHAPTER_CANDIDATES,
) -> list[str]:
    """本文の頑健な主張のうち、結果と合わないものの文を返す。

    Parameters
    ----------
    results : (入力の組, モデル) → シードごとの FitResult
        欠測なしの比較(:func:`medrnn.vitals.tasks.compare_vital_inputs`)。
    sweep : (欠測の設定, 埋め方, モデル) → シードごとのテスト RMSE [bpm]
    spot : (埋め方, モデル) → シードごとのテスト RMSE [bpm]
    train, patience : 本文で使った学習の設定と我慢の回数。
    margin : 未来も使う補間が欠測なしより小さく見える幅の下限 [bpm]。
    candidates : 検証区間で比べた学習の設定の候補(TrainConfig, 我慢の回数)。

    Returns
    -------
    list[str]
        成り立たない主張の文(すべて成り立てば空)。
    """
    heavy = max(
        (k[0] for k in sweep if k[0].pattern == "mcar"), key=lambda s: s.rate
    )
    n_test = {len(r.test_pred_bpm) for runs in results.values() for r in runs}
    leak = {
        k: np.mean(sweep[heavy, "leaky", k])
        < np.mean(_test(results, ("multi", k))) - margin
        for k in CHAPTER_SWEEP_KINDS
    }
    spot_mean = {key: float(np.mean(v)) for key, v in spot.items()}
    spot_best = (
        spot_mean["leaky", "linear"]
        < min(
            spot_mean[s, "linear"]
            for s in CHAPTER_SPOT_STRATEGIES
            if s != "leaky"
        )
        - margin
    )
    chosen = (train, patience) in candidates
    return failed(
        {
            "学習の設定は、検証区間で比べた候補の中から選んだ": chosen,
            "入力の組もモデルも、同じテスト窓で評価している": len(n_test) == 1,
            f"{heavy.rate:.0%} の欠測で、未来も使う補間は線形モデルでも "
            f"LSTM でも欠測なしより {margin} bpm 以上"
            "小さく見える(リーク)": all(leak.values()),
            "スポット測定でも、線形モデルでは未来も使う補間の誤差がいちばん小さい"
            f"(ほかより {margin} bpm 以上。リーク)": spot_best,
        }
    )


def verdict_rows(comparisons: dict[str, Comparison]) -> list[dict[str, str]]:
    """比較の並びを表の行にする(差・区間・勝ち数・判定)。

    Parameters
    ----------
    comparisons : dict[str, Comparison]
        比較の名前 → 比較(表には並びの順に出す)。

    Returns
    -------
    list[dict[str, str]]
        ``comparison_row`` の行。
    """
    return [comparison_row(c) for c in comparisons.values()]


def chapter_study(
    kinds: tuple[str, ...],
    seeds: tuple[int, ...] = CHAPTER_SEEDS,
    device: torch.device | str = "cpu",
) -> Study:
    """章の窓・学習の設定・我慢の回数で、モデル kinds をシード seeds で比べる。

    Parameters
    ----------
    kinds, seeds : 比べるモデルとシード
    device : 窓とモデルを置くデバイス

    Returns
    -------
    Study
    """
    return Study(
        CHAPTER_FORECAST, kinds, seeds, CHAPTER_TRAIN, CHAPTER_PATIENCE, device
    )


def report(seed: int = 0, n_seeds: int = 5) -> None:
    """章の主な結果を表示する(``python -m medrnn vitals``)。

    Parameters
    ----------
    seed : int
        各モデルを学習する最初のシード。
    n_seeds : int
        学習するシードの数(seed から連番)。どの表もそのシードの平均か
        シードで対応させた比較。
    """
    from ..core.notebook import rows_to_markdown
    from ..core.repro import configure_torch

    device = configure_torch()
    seeds = tuple(range(seed, seed + n_seeds))
    series = derive_series(load_recording(), CHAPTER_STEP_S)
    uni = prepare_windows(series, CHAPTER_FORECAST, (0,), device=device)
    print(f"学習の設定の候補: 検証区間の RMSE [bpm]({n_seeds} シードの平均)")
    grid = chapter_study(RECURRENT_KINDS, seeds, device)
    print(rows_to_markdown(validation_grid(series, grid, CHAPTER_CANDIDATES)))
    results = compare_vital_inputs(
        series, chapter_study(CHAPTER_KINDS, seeds, device)
    )
    results.update(
        compare_vital_inputs(
            series,
            chapter_study(CHAPTER_UNI_KINDS, seeds, device),
            {"uni": INPUT_SETS["uni"]},
        )
    )
    persist = rmse_bpm(uni, persistence_pred(uni))
    print("\n欠測なし: テスト RMSE [bpm]")
    print(rows_to_markdown(input_rows(results, persist)))
    print(
        rows_to_markdown(
            verdict_rows(input_comparisons(results, uni, CHAPTER_BLOCK))
        )
    )
    sweep_study = chapter_study(CHAPTER_SWEEP_KINDS, seeds, device)
    sweep = missing_sweep(
        series, sweep_study, CHAPTER_MISSING, CHAPTER_STRATEGIES
    )
    sweep.update(
        missing_sweep(
            series,
            chapter_study(("linear",), seeds, device),
            CHAPTER_BLOCK_MISSING,
            CHAPTER_STRATEGIES,
        )
    )
    for kind in CHAPTER_SWEEP_KINDS:
        print(f"\n{MODEL_NAMES[kind]}: 欠測の設定ごとのテスト RMSE [bpm]")
        print(rows_to_markdown(sweep_rows(sweep, kind)))
    heavy = CHAPTER_MISSING[1]
    print(f"\n{heavy.rate:.0%} のランダムな欠測での比較(シードで対応)")
    print(rows_to_markdown(verdict_rows(sweep_comparisons(sweep, heavy))))
    spot = spot_check_sweep(
        series, sweep_study, CHAPTER_SPOT_GAP_S, CHAPTER_SPOT_STRATEGIES
    )
    print(
        f"\n心拍数のスポット測定(平均 {CHAPTER_SPOT_GAP_S:.0f} 秒ごと)"
        ": テスト RMSE [bpm]"
    )
    print(rows_to_markdown(spot_rows(spot)))
    print(rows_to_markdown(verdict_rows(spot_comparisons(spot))))
    failures = check_claims(
        results,
        sweep,
        spot,
        CHAPTER_TRAIN,
        CHAPTER_PATIENCE,
        candidates=CHAPTER_CANDIDATES,
    )
    print("\n主張の検査: " + claims_summary(failures))
    print(f"({', '.join(INPUT_NAMES.values())} の比較、シード {seeds})")
