"""心電図の章(book/ecg.md)の設定・比較・主張の検査・report()。

章の本文とコマンドライン ``python -m medrnn ecg`` は、ここの設定を共有する。
手法どうしの比較は :mod:`medrnn.core.compare` を通し、向きの言葉は
判定から作る。

- 課題 A(波形の予測)は、再帰型モデルをシード 1 つで学習するので、同じテスト
  窓の予測どうしを、時間のブロックごとのブートストラップで比べる(1 本の長い
  記録なので、重なり合う窓を独立なものとして数えない)。
- 課題 B(形の違う拍の検出)は、5 つのシードで学習し、シードで対応させて
  バランス正解率を比べる(大きいほど良い)。

:func:`check_claims` が確かめるのは、どの機械・どのシードでも成り立つはずの
主張だけ(区間の分け方、ラベルの循環の大きさ、学習のいらない基準の性質)。
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch

from ..core.claims import failed
from ..core.compare import (
    Comparison,
    compare_predictions,
    compare_seeds,
    comparison_row,
    describe,
    time_blocks,
)
from ..core.evaluation import rmse
from ..core.models.nets import ModelConfig
from ..core.training import TrainConfig
from ..ecg.record import BeatTable, LabelConfig, label_beats
from ..ecg.tasks import (
    BEAT_INPUTS,
    BEAT_MODELS,
    BeatData,
    BeatRun,
    BeatTaskConfig,
    BinaryMetrics,
    TimeSplit,
    WaveformConfig,
    WaveformData,
    WaveformRun,
    beat_spans,
    forecast_baselines,
    near_events,
    prepare_waveform,
    train_waveform_forecaster,
)

CHAPTER_SPLIT = TimeSplit(train=0.7, val=0.1)  # 残りの 20% がテスト
CHAPTER_FORECAST = WaveformConfig(
    factor=4, seq_len=36, horizon=4, train_stride=3, split=CHAPTER_SPLIT
)
CHAPTER_FORECAST_TRAIN = TrainConfig(epochs=15, batch_size=256, lr=1e-2)
FORECAST_MODELS = {"RNN": "rnn", "LSTM": "lstm", "GRU": "gru"}  # 表示名 → 種類
CHAPTER_HIDDEN = 32  # 課題 A の再帰型モデルの隠れ状態の次元
CHAPTER_BLOCK_S = 3.0  # 課題 A のブートストラップの時間のブロック [s]
# 波形入力は 6 点ずつの平均(60 Hz、39 点)。4 点ずつ(90 Hz、58 点)と比べて
# 再帰型モデルの学習が約半分の時間で済み、規則との一致はほとんど変わらない
CHAPTER_BEATS = BeatTaskConfig(
    before_s=0.25, after_s=0.40, factor=6, n_rr=8, split=CHAPTER_SPLIT
)
CHAPTER_BEAT_TRAIN = TrainConfig(epochs=20, batch_size=32, lr=1e-2)
CHAPTER_SEEDS = (0, 1, 2, 3, 4)  # 課題 B のシード
CHANCE = 0.5  # 当て推量のバランス正解率
# 主張の検査のしきい値(循環した課題では、線形モデルでも規則とほぼ一致する)
CIRCULAR_MIN_BA = 0.9  # 波形入力のロジスティック回帰のバランス正解率の下限
CIRCULAR_MARGIN = 0.15  # 波形入力が RR 入力を上回る幅の下限
RULE_MAX_SENSITIVITY = 0.5  # タイミングの規則の感度の上限(ほとんど見逃す)


def train_forecasters(
    data: WaveformData,
    seed: int,
    train: TrainConfig,
    device: torch.device | None = None,
) -> dict[str, WaveformRun]:
    """RNN・LSTM・GRU を同じシードで学習する(表示名 → 結果)。

    Parameters
    ----------
    data : WaveformData
        課題 A の窓(prepare_waveform の結果)。
    seed : int
        3 つのモデルに共通の乱数のシード。
    train : TrainConfig
        エポック数・バッチの大きさ・学習率。
    device : torch.device or None
        学習に使うデバイス(None なら configure_torch() のもの)。

    Returns
    -------
    dict[str, WaveformRun]
        "RNN"・"LSTM"・"GRU" → 学習とテスト区間での評価の結果。
    """
    return {
        name: train_waveform_forecaster(
            ModelConfig(kind=kind, hidden_size=CHAPTER_HIDDEN),
            data,
            seed,
            train,
            device,
        )
        for name, kind in FORECAST_MODELS.items()
    }


def forecast_comparisons(
    preds: dict[str, np.ndarray],
    target: np.ndarray,
    fs: float,
    block_s: float = CHAPTER_BLOCK_S,
) -> dict[str, Comparison]:
    """同じテスト窓での予測の比較(時間のブロックごとのブートストラップ)。

    Parameters
    ----------
    preds : dict
        予測法の表示名 → テスト区間の予測 [mV]。形状 (n_windows,)。
        "線形 AR"・"持続予測" と FORECAST_MODELS の名前を含む。
    target : 形状 (n_windows,)
        テスト区間の正解 [mV](時間順)。
    fs : float
        窓の並びのサンプリング周波数 [Hz](隣の窓は 1/fs 秒ずれる)。
    block_s : float
        ブートストラップで一緒に引く時間のブロックの長さ [s]。

    Returns
    -------
    dict
        "rnn_ar"・"lstm_ar"・"gru_ar"(各モデル − 線形 AR)と
        "ar_persist"(線形 AR − 持続予測)。RMSE の差 [mV]。
    """
    groups = time_blocks(len(target), max(1, round(block_s * fs)))
    err = {name: np.asarray(p) - target for name, p in preds.items()}
    kw: dict[str, Any] = {"groups": groups, "unit_name": "ブロック"}
    out = {
        f"{kind}_ar": compare_predictions(
            err[name], err["線形 AR"], names=(name, "線形 AR"), **kw
        )
        for name, kind in FORECAST_MODELS.items()
    }
    out["ar_persist"] = compare_predictions(
        err["線形 AR"], err["持続予測"], names=("線形 AR", "持続予測"), **kw
    )
    return out


def beat_scores(
    runs: dict[tuple[str, str], list[BeatRun]],
    inputs: str,
    kind: str,
    attr: str = "balanced_accuracy",
) -> np.ndarray:
    """シードごとのテスト区間の指標。

    Parameters
    ----------
    runs : dict[tuple[str, str], list[BeatRun]]
        compare_beat_classifiers の結果((入力, モデル) → シードの順)。
    inputs, kind : str
        入力の種類("waveform"・"rr")とモデルの種類("linear" など)。
    attr : str
        BinaryMetrics の指標の名前(既定はバランス正解率)。

    Returns
    -------
    np.ndarray
        シードの順の指標の値。形状 (n_seeds,)
    """
    return np.array([getattr(r.metrics, attr) for r in runs[inputs, kind]])


def _label(inputs: str, kind: str) -> str:
    return f"{BEAT_MODELS[kind]}({BEAT_INPUTS[inputs]})"


def beat_comparisons(
    runs: dict[tuple[str, str], list[BeatRun]],
) -> dict[str, Comparison]:
    """拍の分類の比較(バランス正解率、シードで対応、大きいほど良い)。

    当て推量との比較は、0.5 をシードの数だけ並べて対応させる。

    Parameters
    ----------
    runs : dict[tuple[str, str], list[BeatRun]]
        入力 2 種類 × モデル 4 種類の、同じシードの並びでの結果。

    Returns
    -------
    dict
        "wf_{k}_linear"・"rr_{k}_linear"(再帰型 − ロジスティック回帰)、
        "rr_wf_{k}"(RR 入力 − 波形入力)、"rr_{k}_chance"(RR 入力 − 0.5)。
    """
    out: dict[str, Comparison] = {}
    score = {key: beat_scores(runs, *key) for key in runs}
    for inputs, short in (("waveform", "wf"), ("rr", "rr")):
        for k in ("rnn", "lstm", "gru"):
            out[f"{short}_{k}_linear"] = compare_seeds(
                score[inputs, k],
                score[inputs, "linear"],
                names=(_label(inputs, k), _label(inputs, "linear")),
                lower_is_better=False,
            )
    for k in BEAT_MODELS:
        out[f"rr_wf_{k}"] = compare_seeds(
            score["rr", k],
            score["waveform", k],
            names=(_label("rr", k), _label("waveform", k)),
            lower_is_better=False,
        )
        chance = np.full(len(score["rr", k]), CHANCE)
        out[f"rr_{k}_chance"] = compare_seeds(
            score["rr", k],
            chance,
            names=(_label("rr", k), "当て推量"),
            lower_is_better=False,
        )
    return out


def comparison_rows(
    comparisons: dict[str, Comparison], keys: list[str], digits: int = 3
) -> list[dict[str, str]]:
    """表の行: 選んだ比較の差・95% 区間・勝ち数・判定。

    Parameters
    ----------
    comparisons : dict[str, Comparison]
        forecast_comparisons か beat_comparisons の結果。
    keys : list[str]
        表に載せる比較の名前(この順に並べる)。
    digits : int
        差と区間の小数点以下の桁数。

    Returns
    -------
    list[dict[str, str]]
        比較 1 つが 1 行(列名 → 表に出す文字列)。
    """
    return [comparison_row(comparisons[k], digits) for k in keys]


def _forecast_windows_inside(
    data: WaveformData, config: WaveformConfig
) -> bool:
    """予測の窓(入力の先頭から正解まで)が、どれも自分の区間の中にあるか。"""
    for name, (start, stop) in data.bounds.items():
        target = data.target_index[name]
        first = target - config.horizon - config.seq_len + 1
        if len(target) == 0 or first.min() < start or target.max() >= stop:
            return False
    order = [data.bounds[n] for n in ("train", "val", "test")]
    return all(a[1] <= b[0] for a, b in zip(order, order[1:]))


def _beats_inside(
    table: BeatTable, bdata: BeatData, n_samples: int, config: BeatTaskConfig
) -> bool:
    """拍が 1 つの区間にだけ入り、入力の範囲がその区間の中に収まるか。"""
    spans = beat_spans(table, config)
    seen: set[int] = set()
    for name, (start, stop) in config.split.bounds(n_samples).items():
        rows = bdata.index[name]
        if seen & set(rows.tolist()) or not table.usable[rows].all():
            return False
        seen |= set(rows.tolist())
        if len(rows) and (
            spans[rows, 0].min() < start or spans[rows, 1].max() >= stop
        ):
            return False
    return True


def exercise_1(
    x: np.ndarray, forecast: WaveformConfig = CHAPTER_FORECAST
) -> dict[int, dict[str, float]]:
    """練習問題 1: 予測先 1・4・8 点での、学習のいらない 3 つの方法の RMSE。

    Parameters
    ----------
    x : 心電図の電位 [mV]。形状 (n_samples,)
    forecast : 窓の設定(予測先 horizon だけを変える)

    Returns
    -------
    予測先の点数 → "persist"・"ar"・"mean" → テスト区間の RMSE [mV]
    """
    keys = {"持続予測": "persist", "線形 AR": "ar", "訓練平均": "mean"}
    horizon_rmse = {}
    for horizon in (1, 4, 8):
        data_h = prepare_waveform(x, replace(forecast, horizon=horizon))
        base_h = forecast_baselines(data_h)  # 方法 → テストの予測 [mV]
        target_h = data_h.targets_mv("test")
        horizon_rmse[horizon] = {
            key: rmse(base_h[name], target_h) for name, key in keys.items()
        }
    return horizon_rmse


def exercise_2(
    abnormal_s: np.ndarray,
    t_test: np.ndarray,
    pred: np.ndarray,
    target: np.ndarray,
) -> tuple[float, float]:
    """練習問題 2: 形が違う拍の R 波から 150 ms 以内とそれ以外の RMSE [mV]。

    Parameters
    ----------
    abnormal_s : 形が違う拍の R 波の時刻 [s]。形状 (n_abnormal,)
    t_test : テストの正解の時刻 [s]。形状 (N,)
    pred, target : 予測と正解 [mV]。形状 (N,)

    Returns
    -------
    tuple[float, float]
        RMSE [mV]。形が違う拍の近くの窓、それ以外の窓の順。
    """
    near = near_events(t_test, abnormal_s, within_s=0.15)  # (N,) の真偽
    return (
        rmse(pred[near], target[near]),
        rmse(pred[~near], target[~near]),
    )


def exercise_3(
    x: np.ndarray, peaks: np.ndarray, template_until: int
) -> dict[str, int]:
    """練習問題 3: 形の規則のしきい値 0.7 と 0.9 での「形が違う拍」の数。

    Parameters
    ----------
    x : 心電図の電位 [mV]。形状 (n_samples,)
    peaks : R 波のサンプル番号。形状 (n_beats,)
    template_until : 鋳型に使う拍の上限のサンプル番号(訓練区間の終わり)

    Returns
    -------
    "070"・"090"(しきい値ごとの数)と "changed"(ラベルが変わる拍の数)
    """
    abnormal = {}
    for threshold, key in ((0.7, "070"), (0.9, "090")):
        config = LabelConfig(corr_threshold=threshold)
        table = label_beats(
            x, peaks, config=config, template_until=template_until
        )
        abnormal[key] = table.abnormal
    changed = abnormal["070"] != abnormal["090"]
    counts = {key: int(a.sum()) for key, a in abnormal.items()}
    return {**counts, "changed": int(changed.sum())}


def check_claims(
    table: BeatTable,
    n_samples: int,
    fdata: WaveformData,
    bdata: BeatData,
    beat_runs: dict[tuple[str, str], list[BeatRun]],
    rule: BinaryMetrics,
    horizon_rmse: dict[int, dict[str, float]],
    near_far_rmse: tuple[float, float],
    forecast: WaveformConfig = CHAPTER_FORECAST,
    beats: BeatTaskConfig = CHAPTER_BEATS,
) -> list[str]:
    """本文の頑健な主張のうち、結果と合わないものの文を返す。

    Parameters
    ----------
    table : BeatTable
        拍の表(形の規則のラベル)。
    n_samples : int
        心電図の点数(360 Hz)。
    fdata, bdata : WaveformData, BeatData
        課題 A と課題 B のデータ。
    beat_runs : dict
        (入力, モデル) → シードごとの結果。
    rule : BinaryMetrics
        タイミングの規則をテスト区間の判定に使った結果。
    horizon_rmse : dict
        予測先の点数(1, 4, 8)→ {"persist", "mean"} → テスト RMSE [mV]。
    near_far_rmse : (float, float)
        GRU の予測の RMSE [mV]。形が違う拍の近く、それ以外。
    forecast : WaveformConfig
        課題 A の窓の設定(窓が区間の中にあるかを確かめる)。
    beats : BeatTaskConfig
        課題 B の拍の入力の範囲と区間の分け方。

    Returns
    -------
    list of str
        成り立たない主張の文(すべて成り立てば空)。
    """
    ba = {key: beat_scores(beat_runs, *key).mean() for key in beat_runs}
    persist = [horizon_rmse[h]["persist"] for h in (1, 4, 8)]
    claims = {
        "予測の窓は、入力も正解も自分の区間(時間順)の中だけで作られている": (
            _forecast_windows_inside(fdata, forecast)
        ),
        "拍は 1 つの区間にだけ入り、入力の範囲がその区間の中に収まる": (
            _beats_inside(table, bdata, n_samples, beats)
        ),
        "タイミングの規則は、形の違う拍のほとんどを見逃す(感度が低い)": (
            rule.sensitivity < RULE_MAX_SENSITIVITY
        ),
        "波形を入力にすると、ロジスティック回帰でも規則とほぼ一致する(循環)": (
            ba["waveform", "linear"] >= CIRCULAR_MIN_BA
        ),
        "ロジスティック回帰では、RR 入力は波形入力に大きく届かない": (
            ba["waveform", "linear"] - ba["rr", "linear"] >= CIRCULAR_MARGIN
        ),
        "持続予測の RMSE は、予測先が遠いほど大きい": (
            persist[0] < persist[1] < persist[2]
        ),
        "8 点先では、持続予測が訓練平均より悪い": (
            horizon_rmse[8]["persist"] > horizon_rmse[8]["mean"]
        ),
        "GRU の予測誤差は、形が違う拍の近くのほうが大きい": (
            near_far_rmse[0] > near_far_rmse[1]
        ),
    }
    return failed(claims)


def report(seed: int = 0, n_seeds: int = 5) -> None:
    """章の 2 つの課題(波形の予測と、形の違う拍の検出)の主な結果を表示する。

    Parameters
    ----------
    seed : int
        課題 A の再帰型モデルのシード。
    n_seeds : int
        課題 B のシードの数(0 から n_seeds − 1)。2 未満なら seed で
        1 回ずつ学習し、比較を省く。
    """
    from ..core.notebook import rows_to_markdown
    from ..core.repro import configure_torch
    from ..ecg import record as ecg
    from ..ecg import tasks as ecg_tasks

    device = configure_torch()
    x = ecg.load_ecg()
    bounds = CHAPTER_SPLIT.bounds(len(x))
    table = ecg.label_beats(
        x, ecg.detect_r_peaks(x), template_until=bounds["train"][1]
    )
    fdata = ecg_tasks.prepare_waveform(x, CHAPTER_FORECAST)
    target = fdata.targets_mv("test")
    baselines = ecg_tasks.forecast_baselines(fdata)
    runs = train_forecasters(fdata, seed, CHAPTER_FORECAST_TRAIN, device)
    print(
        f"課題 A: 約 {CHAPTER_FORECAST.horizon_ms:.0f} ms 先の波形の予測"
        f"(再帰型モデルはシード {seed})"
    )
    print(
        rows_to_markdown(
            ecg_tasks.forecast_summary_rows(baselines, runs, target)
        )
    )
    preds = {**baselines, **{k: r.test_pred_mv for k, r in runs.items()}}
    for c in forecast_comparisons(preds, target, fdata.fs).values():
        print(f"  {c.name_a} − {c.name_b}: {describe(c, 'mV', 3)}")
    bdata = ecg_tasks.prepare_beats(x, table, CHAPTER_BEATS)
    seeds = list(range(n_seeds)) if n_seeds >= 2 else [seed]
    print(f"課題 B: 形が違う拍の検出(シード {seeds})")
    beat_runs = ecg_tasks.compare_beat_classifiers(
        bdata, seeds, CHAPTER_BEAT_TRAIN, device=device
    )
    if len(seeds) < 2:  # 1 回だけなら比較は省く
        for (inputs, kind), (run,) in beat_runs.items():
            print(
                f"  {_label(inputs, kind)}: バランス正解率 "
                f"{run.metrics.balanced_accuracy:.3f}"
            )
        return
    print(rows_to_markdown(ecg_tasks.beat_summary_rows(beat_runs)))
    for c in beat_comparisons(beat_runs).values():
        print(f"  {c.name_a} − {c.name_b}: {describe(c, '', 3)}")
