"""GRU と長期依存性の章(book/gru.md)の設定・比較・主張の検査・報告。

章のコードセルはここにある関数を呼ぶだけにする。モデルどうしの優劣は
:mod:`medrnn.core.compare` の判定から文を作り、ここでは確かめない。
:func:`check_claims` が確かめるのは、どの機械・どのシードでも成り立つはずの
主張(式と実装の一致、学習前の勾配の桁、クリッピングの上限、など)だけ。
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from ..core.claims import failed
from ..core.compare import Comparison, compare_seeds, comparison_row
from ..core.evaluation import mean_std_text
from ..core.models.nets import GRU_MODEL, LSTM_MODEL, RNN_MODEL, ModelConfig
from ..core.models.scratch import GRUCellScratch
from ..theory.experiments import (
    LSTM_RECIPE,
    Recipe,
    RunResult,
    SineData,
    baseline_mses,
    prepare_data,
    train_recipe,
)
from ..theory.longlag import (
    ClippingResult,
    LagConfig,
    LagModel,
    LagSweep,
    clipping_experiment,
    lag_sweep,
    longest_reliable_lag,
    solved_counts,
    train_long_lag_seeds,
)

# --- 長い遅れの課題 -------------------------------------------------------
LAG_MODELS = {
    "RNN": LagModel("rnn"),
    "LSTM": LagModel("lstm"),
    "GRU": LagModel("gru"),
    "LSTM(b_f=3)": LagModel("lstm", 3.0),
    "GRU(b_z=3)": LagModel("gru", 3.0),
}
LAGS = (5, 15, 30, 60)  # 試す遅れ [ステップ]
SEEDS = (0, 1, 2, 3, 4)  # シードを比べる実験に共通のシード(5 つ)
LAG_CONFIG = LagConfig()  # 学習の設定(更新は最大 200 回、解けたら止める)
GRAD_LAG = 30  # 勾配を測る系列の遅れ [ステップ]
SOLVED = 0.9  # テスト正解率がこれ以上なら「解けた」と数える
# 本文の表に並べる比較(遅れ, A, B)。正解率の差 A − B
LAG_PAIRS = (
    (15, "LSTM", "RNN"),
    (15, "GRU", "RNN"),
    (30, "LSTM(b_f=3)", "LSTM"),
    (30, "GRU(b_z=3)", "GRU"),
    (60, "LSTM(b_f=3)", "RNN"),
    (60, "GRU(b_z=3)", "RNN"),
    (60, "GRU(b_z=3)", "LSTM(b_f=3)"),
)

# --- 勾配クリッピング -----------------------------------------------------
CLIP_LR = 0.3  # SGD の学習率
CLIP_MAX_NORM = 1.0  # 勾配ノルムの上限 c
CLIP_SOLVED_LOSS = 0.1  # 最後の 10 回の平均損失がこれ未満なら「解けた」
CLIP_BATCH = 256  # 毎回の更新に使う同じ系列の本数

# --- サイン波の比較 -------------------------------------------------------
SINE_EPOCHS = 6  # LSTM の章の検証で、検証損失がほぼ下げ止まるまでのエポック
SINE_RECIPE = replace(
    LSTM_RECIPE, train=replace(LSTM_RECIPE.train, epochs=SINE_EPOCHS)
)
SINE_MODELS: dict[str, ModelConfig] = {
    "rnn": RNN_MODEL,
    "lstm": LSTM_MODEL,
    "gru": GRU_MODEL,
}
LABELS = {
    "persistence": "持続予測",
    "window_mean": "窓の平均",
    "linear_ar": "線形 AR",
    "rnn": "RNN",
    "lstm": "LSTM",
    "gru": "GRU",
}
SINE_PAIRS = (
    ("gru", "lstm"),
    ("gru", "rnn"),
    ("lstm", "rnn"),
    ("gru", "linear_ar"),
)

# --- 主張の検査のしきい値(桁で分かれる量だけを確かめる) -------------------
VANISHED = 1e-3  # 既定の初期値では、距離 30 の勾配は距離 0 のこれ未満
CARRIED = 1e-2  # ゲートのバイアス 3 なら、距離 30 の勾配は距離 0 のこれより上
SCRATCH_TOL = 1e-4  # 式から書いたセルと nn の差の許容(32 ビットの丸め誤差)


# ---------------------------------------------------------------------------
def run_lag_sweep(
    seeds: Sequence[int] = SEEDS, config: LagConfig | None = None
) -> LagSweep:
    """5 つのモデル × 4 つの遅れ × シードで、長い遅れの課題を学習する。

    Parameters
    ----------
    seeds : Sequence[int]
        各モデル・各遅れで学習するシード。
    config : LagConfig or None
        学習の設定。None なら LAG_CONFIG を使う。

    Returns
    -------
    LagSweep
        モデル → 遅れ × シードのテスト正解率と、解けるまでの更新回数。
    """
    config = LAG_CONFIG if config is None else config
    return lag_sweep(LAG_MODELS, list(LAGS), list(seeds), config)


def lag_comparisons(sweep: LagSweep) -> dict[str, Comparison]:
    """LAG_PAIRS の各組を、シードごとのテスト正解率で対応させて比べる。

    Parameters
    ----------
    sweep : LagSweep
        :func:`run_lag_sweep` の結果(LAG_PAIRS の遅れとモデルを含む)。

    Returns
    -------
    dict[str, Comparison]
        "30_LSTM(b_f=3)_LSTM" のような「遅れ_A_B」→ 正解率の差 A − B の
        比較(大きいほど A が良い)。
    """
    out = {}
    for lag, a, b in LAG_PAIRS:
        i = sweep.lags.index(lag)
        out[f"{lag}_{a}_{b}"] = compare_seeds(
            sweep.accuracy[a][i],
            sweep.accuracy[b][i],
            names=(a, b),
            lower_is_better=False,
        )
    return out


def lag_comparison_rows(
    comparisons: Mapping[str, Comparison],
) -> list[dict[str, str]]:
    """比較ごとに 1 行(遅れ・正解率の差・95% 区間・勝ち数・判定)。

    Parameters
    ----------
    comparisons : Mapping[str, Comparison]
        :func:`lag_comparisons` の結果。キーの先頭が遅れ。

    Returns
    -------
    list[dict[str, str]]
        「遅れ」の列を先頭に足した ``comparison_row`` の行。
    """
    return [
        {"遅れ": key.split("_")[0]} | comparison_row(c)
        for key, c in comparisons.items()
    ]


def _median_step(steps: np.ndarray) -> str:
    """解けたシードの更新回数の中央値(解けたシードがなければ「—」)。"""
    done = steps[~np.isnan(steps)]
    return "—" if done.size == 0 else f"{np.median(done):.0f}"


def lag_table_rows(sweep: LagSweep) -> list[dict[str, str]]:
    """モデルごとに 1 行: 遅れごとの平均正解率(解けたシード数)と更新回数。

    Parameters
    ----------
    sweep : LagSweep
        長い遅れの課題の結果(:func:`run_lag_sweep`)。

    Returns
    -------
    list[dict[str, str]]
        列は「モデル」・「遅れ k」(k は sweep.lags)・全シードで解けた
        最長の遅れ。
    """
    n = len(sweep.seeds)
    rows = []
    for name in sweep.accuracy:
        counts = solved_counts(sweep, name, SOLVED)
        row = {"モデル": name}
        for i, lag in enumerate(sweep.lags):
            row[f"遅れ {lag}"] = (
                f"{sweep.accuracy[name][i].mean():.2f}"
                f"({counts[i]}/{n}、"
                f"{_median_step(sweep.solved_step[name][i])})"
            )
        reliable = longest_reliable_lag(sweep, name, SOLVED)
        rows.append(
            row
            | {
                "全シードで解けた最長の遅れ": "なし"
                if reliable is None
                else str(reliable)
            }
        )
    return rows


def bias_conclusion(comparisons: Mapping[str, Comparison]) -> str:
    """遅れ 30 でのバイアスの効果(2 つの判定)から、結論の文を選ぶ。

    Parameters
    ----------
    comparisons : Mapping[str, Comparison]
        :func:`lag_comparisons` の結果。"30_LSTM(b_f=3)_LSTM" と
        "30_GRU(b_z=3)_GRU" を使う。

    Returns
    -------
    str
        本文に glue する結論の 1 文。
    """
    verdicts = {
        comparisons[k].verdict
        for k in ("30_LSTM(b_f=3)_LSTM", "30_GRU(b_z=3)_GRU")
    }
    if verdicts == {"better"}:
        return (
            "この設定では、ゲートが記憶を運べる状態から学習を始めると、"
            "LSTM でも GRU でも長い遅れを学べるようになりました"
        )
    n = comparisons["30_GRU(b_z=3)_GRU"].n
    return (
        f"この設定と {n} つのシードでは、バイアスの効果を LSTM と GRU の"
        "両方についてはっきりと言うことはできませんでした"
    )


# ---------------------------------------------------------------------------
def run_clipping(
    seeds: Sequence[int] = SEEDS, steps: int = 100
) -> ClippingResult:
    """W_hh を 5 倍にした RNN を、クリッピングなし・ありで学習する。

    Parameters
    ----------
    seeds : Sequence[int]
        学習のシード(なし・ありで同じシードを使う)。
    steps : int
        SGD の更新の回数。

    Returns
    -------
    ClippingResult
        "plain"・"clipped" → シードごとの損失と更新量の記録。
    """
    return clipping_experiment(
        lag=GRAD_LAG,
        seeds=list(seeds),
        lr=CLIP_LR,
        max_norm=CLIP_MAX_NORM,
        steps=steps,
        batch_size=CLIP_BATCH,
        config=LAG_CONFIG,
    )


def clip_final_losses(clip: ClippingResult) -> dict[str, list[float]]:
    """ "plain"・"clipped" → シードごとの最後の 10 回の平均損失。

    Parameters
    ----------
    clip : ClippingResult
        :func:`run_clipping` の記録(なしと、ありの 2 通り)。

    Returns
    -------
    dict[str, list[float]]
        キーごとに、シード順の平均損失。長さ (n_seeds,)
    """
    return {
        key: [float(np.mean(t.loss[-10:])) for t in traces]
        for key, traces in clip.traces.items()
    }


def clip_comparison(clip: ClippingResult) -> Comparison:
    """最後の 10 回の平均損失を、クリッピングあり − なし で比べる。

    Parameters
    ----------
    clip : ClippingResult
        同じシードでクリッピングなし・ありを学習した記録。

    Returns
    -------
    Comparison
        シードで対応させた損失の差(小さいほどクリッピングありが良い)。
    """
    final = clip_final_losses(clip)
    return compare_seeds(
        final["clipped"],
        final["plain"],
        names=("クリッピングあり", "クリッピングなし"),
    )


# ---------------------------------------------------------------------------
def seed_recipe(seed: int, recipe: Recipe) -> Recipe:
    """シード番号 seed のデータを作るレシピ(ノイズの乱数もシードでずらす)。

    環境変数 ``MEDRNN_SEED_OFFSET`` のずらし分は ``prepare_data`` が足す。

    Parameters
    ----------
    seed, recipe : :func:`medrnn.chapters.lstm.seed_recipe` と同じ
        データのシードと、sine.seed を差し替える元のレシピ。

    Returns
    -------
    Recipe
        sine.seed だけを変えた写し。
    """
    return replace(recipe, sine=replace(recipe.sine, seed=seed))


@dataclass
class SineComparison:
    """サイン波の一歩先予測での、モデルと基準法のシードごとの結果。"""

    mse: dict[str, list[float]]  # 手法名 → シード順のテスト MSE
    first_runs: dict[str, RunResult]  # 最初のシードの学習結果(モデルつき)
    first_data: SineData | None  # 最初のシードのデータ(シードがなければ None)
    seeds: list[int]  # 使ったシード


def sine_comparison(
    seeds: Sequence[int] = SEEDS,
    recipe: Recipe | None = None,
    models: Mapping[str, ModelConfig] | None = None,
) -> SineComparison:
    """シードごとに同じデータで、3 つのモデルと基準法のテスト MSE を測る。

    Parameters
    ----------
    seeds : Sequence[int]
        データとモデルの学習に使うシード(空でないこと)。
    recipe : Recipe or None
        データと学習の設定。None なら SINE_RECIPE。
    models : Mapping[str, ModelConfig] or None
        学習するモデルの名前 → 設定。None なら SINE_MODELS。

    Returns
    -------
    SineComparison
        手法名 → シード順のテスト MSE と、最初のシードの学習とデータ。
    """
    recipe = SINE_RECIPE if recipe is None else recipe
    models = SINE_MODELS if models is None else models
    mse: dict[str, list[float]] = {}
    first_runs: dict[str, RunResult] = {}
    first_data = None
    for seed in seeds:
        data = prepare_data(seed_recipe(seed, recipe))
        first_data = data if first_data is None else first_data
        for name, value in baseline_mses(data).items():
            mse.setdefault(name, []).append(value)
        for name, model in models.items():
            run = train_recipe(replace(recipe, model=model), data, seed)
            mse.setdefault(name, []).append(run.test_mse)
            if seed == seeds[0]:
                first_runs[name] = run
    return SineComparison(mse, first_runs, first_data, list(seeds))


def sine_comparisons(result: SineComparison) -> dict[str, Comparison]:
    """SINE_PAIRS の各組を、シードで対応させてテスト MSE で比べる。

    Parameters
    ----------
    result : SineComparison
        シードごとのテスト MSE(:func:`sine_comparison` の結果)。

    Returns
    -------
    dict[str, Comparison]
        "gru_lstm" などの「A_B」→ MSE の差 A − B の比較。
    """
    return {
        f"{a}_{b}": compare_seeds(
            result.mse[a], result.mse[b], names=(LABELS[a], LABELS[b])
        )
        for a, b in SINE_PAIRS
    }


def sine_summary_rows(result: SineComparison) -> list[dict[str, str]]:
    """手法ごとに 1 行: テスト MSE の平均 ± 標準偏差。

    Parameters
    ----------
    result : SineComparison
        シードごとのテスト MSE を持つ結果。

    Returns
    -------
    list[dict[str, str]]
        result.mse の順の行(小数 4 桁)。
    """
    rows = []
    for name, values in result.mse.items():
        rows.append(
            {
                "予測法": LABELS[name],
                "テスト MSE(平均 ± 標準偏差)": mean_std_text(values, digits=4),
            }
        )
    return rows


def sine_conclusion(comparisons: Mapping[str, Comparison]) -> str:
    """3 つのモデルどうしの判定から、まとめの文を選ぶ。

    Parameters
    ----------
    comparisons : Mapping[str, Comparison]
        :func:`sine_comparisons` の結果("gru_lstm"・"gru_rnn"・"lstm_rnn"
        を使う)。

    Returns
    -------
    str
        本文に glue するまとめの 1 文。
    """
    keys = ("gru_lstm", "gru_rnn", "lstm_rnn")
    n = comparisons[keys[0]].n
    if all(comparisons[k].verdict == "cannot tell" for k in keys):
        return (
            f"{n} つのシードでは、3 つのモデルの差をはっきりとは言えなかった"
        )
    return (
        f"3 つのモデルの間に、{n} つのシードで判定のつく差があった(表を参照)"
    )


# ---------------------------------------------------------------------------
def ratio_at(norms: np.ndarray) -> float:
    """最も遠い時刻の勾配の大きさ ÷ 損失に最も近い時刻の大きさ。

    Parameters
    ----------
    norms : np.ndarray
        時刻ごとの勾配のノルム(時刻の順)。形状 (seq_len,)

    Returns
    -------
    float
        norms[0] / norms[-1](1 より小さいほど遠くの勾配が消えている)。
    """
    return float(norms[0] / norms[-1])


def exercise_1(input_size: int = 4, hidden_size: int = 16) -> dict[str, int]:
    """練習問題 1: 1 段の GRU と LSTM のパラメータの数(式と、数えた値)。

    1 段あたり G (H (I + H) + 2H)。G はゲートと候補の塊の数(GRU 3、LSTM 4)。

    Parameters
    ----------
    input_size, hidden_size : int
        式の I と H。

    Returns
    -------
    dict[str, int]
        "gru_formula"・"gru_counted"・"lstm_formula"・"lstm_counted"
    """
    out = {}
    for kind, layer, gates in (("gru", nn.GRU, 3), ("lstm", nn.LSTM, 4)):
        H, n_in = hidden_size, input_size
        out[f"{kind}_formula"] = gates * (H * (n_in + H) + 2 * H)
        made = layer(n_in, H, batch_first=True)  # 実際に作って数える
        out[f"{kind}_counted"] = sum(p.numel() for p in made.parameters())
    return out


def textbook_gru_step(
    cell: GRUCellScratch, x_t: torch.Tensor, h_prev: torch.Tensor
) -> torch.Tensor:
    """z' = σ(a'_z) を「書き換える割合」とする教科書の形の GRU の 1 時刻。

    Parameters
    ----------
    cell : 重みとバイアスを借りる GRUCellScratch
    x_t : 時刻 t の入力。形状 (batch, input_size)
    h_prev : 1 つ前の隠れ状態。形状 (batch, H)

    Returns
    -------
    torch.Tensor : 新しい隠れ状態。形状 (batch, H)
    """
    a_x = x_t @ cell.weight_ih.T + cell.bias_ih  # (batch, 3H)
    a_h = h_prev @ cell.weight_hh.T + cell.bias_hh  # (batch, 3H)
    (ax_r, ax_z, ax_n), (ah_r, ah_z, ah_n) = a_x.chunk(3, 1), a_h.chunk(3, 1)
    z_book = torch.sigmoid(ax_z + ah_z)  # 教科書の z'(書き換える割合)
    n = torch.tanh(ax_n + torch.sigmoid(ax_r + ah_r) * ah_n)
    return (1 - z_book) * h_prev + z_book * n


def exercise_2(seed: int = 0) -> float:
    """練習問題 2: 更新ゲートの重みの符号を反転した nn.GRUCell と、教科書の
    形の差の最大値(丸め誤差の大きさなら同じ計算)。

    Parameters
    ----------
    seed : 重みと入力を作る乱数のシード

    Returns
    -------
    float : 2 つの出力の差の絶対値の最大
    """
    torch.manual_seed(seed)
    cell = GRUCellScratch(4, 16)  # 入力 4 項目、隠れ状態 16 次元
    x_t, h_prev = torch.randn(3, 4), torch.randn(3, 16)  # バッチ 3
    with torch.no_grad():
        h_book = textbook_gru_step(cell, x_t, h_prev)
        flipped = nn.GRUCell(4, 16)
        flipped.load_state_dict(cell.state_dict())
        for p in flipped.parameters():
            p[16:32] *= -1  # 更新ゲートの塊(r, z, n の 2 番目)の符号を反転
        return float((flipped(x_t, h_prev) - h_book).abs().max())


def exercise_3(
    seeds: Sequence[int] = SEEDS, config: LagConfig = LAG_CONFIG
) -> dict[str, object]:
    """練習問題 3: 忘却ゲートのバイアス 1 の LSTM で遅れ 30 の課題を学習する。

    Parameters
    ----------
    seeds : 学習のシード
    config : 遅れの課題の学習の設定

    Returns
    -------
    dict
        "sigmoid_1": σ(1)、"decay": σ(1)^30、"acc": シードごとの正解率
        (読点でつないだ文字列)
    """
    sigmoid_1 = float(torch.sigmoid(torch.tensor(1.0)))
    runs = train_long_lag_seeds(LagModel("lstm", 1.0), 30, list(seeds), config)
    return {
        "sigmoid_1": sigmoid_1,
        "decay": sigmoid_1**30,  # 30 ステップで残る割合
        "acc": "、".join(f"{run.accuracy:.2f}" for run in runs),
    }


def check_claims(
    norms_init: Mapping[str, np.ndarray],
    explode_ratio: float,
    clip: ClippingResult,
    sweep: LagSweep,
    gaps: Mapping[str, Mapping[str, float]],
) -> list[str]:
    """本文の頑健な主張のうち、実行結果と合わないものの文を返す。

    Parameters
    ----------
    norms_init : モデル名 → 学習前の時刻ごとの勾配ノルム。形状 (seq_len,)
    explode_ratio : W_hh を 5 倍にした RNN の、距離 30 ÷ 距離 0 の勾配
    clip : :func:`run_clipping` の結果
    sweep : :func:`run_lag_sweep` の結果
    gaps : 種類 → ``equality_gaps`` の結果("output"・"state"・"grad_relative")

    Returns
    -------
    list[str]
        成り立たなかった主張の文(空ならすべて成り立つ)。
    """
    ratio = {name: ratio_at(v) for name, v in norms_init.items()}
    limit = CLIP_LR * CLIP_MAX_NORM * (1 + 1e-4)
    updates = {
        k: [max(t.update_norm) for t in v] for k, v in clip.traces.items()
    }
    n, first, last = len(sweep.seeds), 0, sweep.lags.index(max(sweep.lags))
    return failed(
        {
            "式から書いたセルは nn.RNN・nn.LSTM・nn.GRU と丸め誤差の範囲で"
            "一致する": max(max(g.values()) for g in gaps.values())
            < SCRATCH_TOL,
            "学習前、既定の初期値の RNN・LSTM・GRU では、距離 30 の勾配が"
            "距離 0 の 1000 分の 1 未満に消えている": all(
                ratio[k] < VANISHED for k in ("RNN", "LSTM", "GRU")
            ),
            "ゲートのバイアスを 3 にすると、学習前の距離 30 の勾配は"
            "距離 0 の 100 分の 1 より大きく残る": all(
                ratio[k] > CARRIED for k in ("LSTM(b_f=3)", "GRU(b_z=3)")
            ),
            "W_hh を 5 倍にした RNN では、距離 30 の勾配が"
            "距離 0 より大きい": explode_ratio > 1.0,
            "クリッピングありの 1 回の更新量は、どのシードでも"
            "学習率 × 上限以下": max(updates["clipped"]) <= limit,
            "クリッピングなしでは、どのシードでも更新量が"
            "学習率 × 上限を超える": min(updates["plain"]) > limit,
            "遅れ 5 では、どのモデルもシードの過半数で解ける": all(
                solved_counts(sweep, k, SOLVED)[first] > n / 2
                for k in sweep.accuracy
            ),
            "既定の初期値の LSTM と GRU は、最長の遅れを"
            "どのシードでも解けない": all(
                solved_counts(sweep, k, SOLVED)[last] == 0
                for k in ("LSTM", "GRU")
            ),
        }
    )


def report(seed: int = 0, n_seeds: int = 5) -> None:
    """本章の主な結果(長い遅れの課題とサイン波の比較)を表示する。

    Parameters
    ----------
    seed : int
        最初のシード番号。
    n_seeds : int
        シードの数(2 以上)。seed から続けて n_seeds 個を使う。

    Raises
    ------
    ValueError
        n_seeds が 2 未満のとき。
    """
    from ..core.notebook import rows_to_markdown

    if n_seeds < 2:
        raise ValueError(
            f"n_seeds は 2 以上にしてください(受け取った値: {n_seeds})"
        )
    seeds = list(range(seed, seed + n_seeds))
    sweep = run_lag_sweep(seeds)
    print(
        f"長い遅れの課題({n_seeds} シード): 平均正解率(解けたシード数、"
        "解けるまでの更新回数の中央値)"
    )
    print(rows_to_markdown(lag_table_rows(sweep)))
    print(rows_to_markdown(lag_comparison_rows(lag_comparisons(sweep))))
    sine = sine_comparison(seeds)
    print(f"サイン波の一歩先予測({n_seeds} シード、{SINE_EPOCHS} エポック)")
    print(rows_to_markdown(sine_summary_rows(sine)))
    comparisons = sine_comparisons(sine)
    print(
        rows_to_markdown(
            [comparison_row(c, digits=4) for c in comparisons.values()]
        )
    )
    print(sine_conclusion(comparisons))
