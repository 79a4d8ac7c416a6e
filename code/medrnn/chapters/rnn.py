"""RNN の章(book/rnn.md)の設定・比較・主張の検査・コマンドラインの報告。

章の本文はここの関数を呼んで、表と glue する値を作る。手法の優劣の向きは
:mod:`medrnn.core.compare` の判定から言葉を選び、ここでは確かめない。
:func:`check_claims` が確かめるのは、どの機械・どのシードでも成り立つ事実
(手計算と nn.RNN の一致、ヤコビ行列の積の上界、早期終了の止まり方など)だけ。
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from ..core.claims import failed
from ..core.compare import (
    Comparison,
    compare_predictions,
    compare_seeds,
    describe,
    time_blocks,
)
from ..core.evaluation import mean_std_text, mse
from ..core.models.nets import RNN_MODEL, ModelConfig
from ..theory.bptt import jacobian_norms_over_time
from ..theory.experiments import (
    RNN_RECIPE,
    ValidationStudy,
    baseline_mses,
    baseline_predictions,
    compare_over_seeds,
    prepare_data,
    train_recipe,
)

CHAPTER_SEEDS = (0, 1, 2, 3, 4)  # 複数シードの比較に使うシード
CHAPTER_VAL_RATIO = 0.2  # 訓練部分の末尾を検証用にする割合
CHAPTER_PATIENCE = 20  # 早期終了の我慢のエポック数
CHAPTER_TIME_BLOCK = 5  # テスト窓のブートストラップで 1 まとまりにする窓の数
CHAPTER_JACOBIAN_SCALES = (0.5, 1.0, 2.0)  # W_hh の倍率
LABELS = {
    "rnn": "RNN",
    "linear_ar": "線形 AR",
    "persistence": "持続予測",
    "window_mean": "窓の平均",
}  # 表と本文での手法の名前
BASELINES = ("linear_ar", "persistence", "window_mean")  # RNN と比べる相手
ROUNDING = 1e-5  # float32 の丸め誤差とみなす差の上限


def seed_comparisons(
    results: Mapping[str, Sequence[float]],
) -> dict[str, Comparison]:
    """RNN と各基準法のテスト MSE を、シードで対応づけて比べる。

    Parameters
    ----------
    results : dict[str, list[float]]
        手法名 → シード順のテスト MSE。各長さ (n_seeds,)。"rnn" と
        :data:`BASELINES` を含む。

    Returns
    -------
    dict[str, Comparison]
        基準法の名前 → 比較(差は RNN − 基準法、小さいほど良い)。
    """
    return {
        name: compare_seeds(
            results["rnn"], results[name], names=("RNN", LABELS[name])
        )
        for name in BASELINES
    }


def per_seed_rows(
    results: Mapping[str, Sequence[float]],
    seeds: Sequence[int] = CHAPTER_SEEDS,
) -> list[dict[str, str]]:
    """シードごとのテスト MSE と平均 ± 標準偏差を表の行にする。

    Parameters
    ----------
    results : Mapping[str, Sequence[float]]
        :data:`LABELS` の手法名 → seeds と同じ順のテスト MSE。
        各長さ (n_seeds,)
    seeds : Sequence[int]
        列の見出しにするシードの番号。

    Returns
    -------
    list[dict[str, str]]
        手法ごとに 1 行(予測法・シードごとの MSE・平均 ± 標準偏差)。
    """
    rows = []
    for name, label in LABELS.items():
        row = {"予測法": label}
        row.update(
            {f"シード {s}": f"{v:.4f}" for s, v in zip(seeds, results[name])}
        )
        row["平均 ± 標準偏差"] = mean_std_text(results[name], digits=4)
        rows.append(row)
    return rows


def paired_rows(
    comparisons: Mapping[str, Comparison], seeds: Sequence[int] = CHAPTER_SEEDS
) -> list[dict[str, str]]:
    """シードごとの差(RNN − 基準法)と、差の平均・区間・判定を表の行にする。

    区間は対応のある t 分布の 95% 区間。

    Parameters
    ----------
    comparisons : Mapping[str, Comparison]
        :func:`seed_comparisons` の結果(基準法の名前 → 比較)。
    seeds : Sequence[int]
        差を並べる列の見出し。比較の diffs と同じ順。

    Returns
    -------
    list[dict[str, str]]
        比較ごとに 1 行。差は符号つきで小数 4 桁。
    """
    rows = []
    for c in comparisons.values():
        row = {"比較(A − B)": f"{c.name_a} − {c.name_b}"}
        row.update(
            {f"シード {s}": f"{d:+.4f}" for s, d in zip(seeds, c.diffs)}
        )
        row.update(
            {
                "差の平均": f"{c.mean_diff:+.4f}",
                "95% 区間": f"{c.low:+.4f} 〜 {c.high:+.4f}",
                "A が良い": f"{c.wins}/{c.n}",
                "判定(A は)": c.verdict_ja,
            }
        )
        rows.append(row)
    return rows


def compare_on_test_windows(
    pred_a: np.ndarray,
    pred_b: np.ndarray,
    target: np.ndarray,
    names: tuple[str, str],
    block: int = CHAPTER_TIME_BLOCK,
) -> Comparison:
    """1 回分の 2 つの予測を、同じテスト窓の時間ブロック単位で比べる(RMSE)。

    Parameters
    ----------
    pred_a, pred_b, target : 予測 A・B と正解。形状 (N_test,)、窓は時間順
    names : 予測 A・B の名前(結果の表示に使う)
    block : 連続した何窓を 1 まとまりとして復元抽出するか

    Returns
    -------
    Comparison : RMSE の差 A − B・95% 区間・判定(小さいほど A が良い)
    """
    target = np.asarray(target, dtype=np.float64)
    groups = time_blocks(target.size, block)  # 窓ごとのブロック番号
    errors = (np.asarray(pred_a) - target, np.asarray(pred_b) - target)
    return compare_predictions(
        *errors, groups, names=names, metric="rmse", unit_name="時間ブロック"
    )


@dataclass(frozen=True)
class ClaimInputs:
    """check_claims に渡す、章の実行結果。"""

    manual_max_diff: float  # 手計算と nn.RNN の出力の差の最大
    whh_max_diff: float  # 寄与の和と autograd の ∂L/∂W_hh の差の最大
    loop_vs_batch: float  # 1 窓ずつの予測とまとめた予測の差の最大
    same_losses: bool  # fit と fit_with_dataloader の損失の列が一致したか
    jacobian_norms: Mapping[float, np.ndarray]  # 倍率 → 距離 k のノルム
    seed_results: Mapping[str, Sequence[float]]  # 手法 → シード順のテスト MSE
    noise_variance: float  # ノイズフロア σ²
    study: ValidationStudy  # 検証データと早期終了の実験
    epochs: int  # レシピのエポック数
    patience: int = CHAPTER_PATIENCE  # 早期終了の我慢のエポック数


def check_claims(r: ClaimInputs) -> list[str]:
    """本文が述べる頑健な事実のうち、実行結果と合わないものの文を返す。

    Parameters
    ----------
    r : ClaimInputs
        章の実行結果(手計算との差、ヤコビ行列のノルム、シードごとの
        テスト MSE、検証データと早期終了の実験など)。

    Returns
    -------
    list[str]
        成り立たなかった主張の文。すべて成り立てば空のリスト。
    """
    norms = {
        s: np.asarray(v, dtype=np.float64) for s, v in r.jacobian_norms.items()
    }
    k = np.arange(len(norms[0.5]))
    stopped = len(r.study.early.val_loss)
    means = {name: float(np.mean(v)) for name, v in r.seed_results.items()}
    claims = {
        "手計算の RNN は nn.RNN と丸め誤差の範囲で一致する": (
            r.manual_max_diff < ROUNDING
        ),
        "時刻ごとの寄与の和は nn.RNN の逆伝播の ∂L/∂W_hh と一致する": (
            r.whh_max_diff < ROUNDING
        ),
        "1 窓ずつの予測とまとめた予測は丸め誤差の範囲で一致する": (
            r.loop_vs_batch < ROUNDING
        ),
        "fit と fit_with_dataloader は同じシードで同じ損失の列を出す": (
            bool(r.same_losses)
        ),
        "距離 k のノルムは倍率の k 乗を超えない(tanh の傾きは 1 以下)": (
            all(
                np.all(v <= s**k * (1 + 1e-4) + 1e-12)
                for s, v in norms.items()
            )
        ),
        "倍率 0.5 では距離 30 の影響が事実上ゼロ(1e-8 未満)": (
            norms[0.5][30] < 1e-8
        ),
        "倍率 2.0 では距離 30 の影響が 1 より大きくなる": (
            norms[2.0][30] > 1.0
        ),
        "どの予測法もノイズフロアを大きく下回らない(平均が σ² の半分以上)": (
            all(m > 0.5 * r.noise_variance for m in means.values())
        ),
        (
            "早期終了は全エポック以内で止まり、"
            "止まったのは最良から我慢の分だけ後"
        ): (
            stopped == r.epochs
            or stopped == r.study.early.best_epoch + r.patience
        ),
        "全エポックの学習は検証損失をレシピのエポック数だけ記録した": (
            len(r.study.history.val_loss) == r.epochs
        ),
        "検証用に分けた学習の訓練損失はノイズフロアを大きく下回らない": (
            r.study.history.train_loss[-1] > 0.5 * r.noise_variance
        ),
    }
    return failed(claims)


def exercise_1(config: ModelConfig) -> int:
    """練習問題 1: nn.RNN + nn.Linear の学習パラメータの数を式で数える。

    Parameters
    ----------
    config : モデルの設定(input_size・hidden_size・output_size を使う)

    Returns
    -------
    int
        HI + H² + 2H + OH + O(2 つのバイアスを別々に数える)
    """
    H = config.hidden_size  # 式の H
    n_in, n_out = config.input_size, config.output_size  # 式の I と O
    return H * n_in + H * H + 2 * H + n_out * H + n_out


def exercise_2(rnn: nn.RNN, x: torch.Tensor) -> dict[str, float]:
    """練習問題 2: 学習した RNN 層の ‖∂h_T/∂h_{T-k}‖ の範囲(k = 1..T)。

    Parameters
    ----------
    rnn : 学習した 1 層の nn.RNN(model.recurrent)
    x : 入力系列 1 本。形状 (1, seq_len, 1)

    Returns
    -------
    dict[str, float]
        "trained_min"・"trained_max": 距離 1〜seq_len のノルムの最小と最大
    """
    norms = jacobian_norms_over_time(rnn, x)[1:]  # (seq_len,)。k = 0 を除く
    return {
        "trained_min": float(norms.min()),
        "trained_max": float(norms.max()),
    }


def exercise_3(
    rnn_mses: Sequence[float], seeds: Sequence[int] = CHAPTER_SEEDS
) -> dict[str, float]:
    """練習問題 3: 真の波形 sin t を予測値にしたときのテスト MSE。

    Parameters
    ----------
    rnn_mses : seeds と同じ順の RNN のテスト MSE。長さ (n_seeds,)

    Returns
    -------
    dict[str, float]
        "oracle_mean"・"oracle_std": sin t の MSE のシード平均と標準偏差、
        "oracle_gap": RNN − sin t の MSE の差の平均
    """
    oracle = []
    for seed in seeds:
        sine = replace(RNN_RECIPE.sine, seed=seed)
        d = prepare_data(replace(RNN_RECIPE, sine=sine))
        oracle.append(mse(np.sin(d.t_test_targets), d.y_test[:, 0].numpy()))
    return {
        "oracle_mean": float(np.mean(oracle)),
        "oracle_std": float(np.std(oracle, ddof=1)),
        "oracle_gap": float(np.mean(np.array(rnn_mses) - oracle)),
    }


def report(seed: int = 0, n_seeds: int = 5) -> None:
    """本文と同じ 1 回の学習と、シードで対応づけた比較を表示する。

    Parameters
    ----------
    seed : int
        本文と同じ 1 回の学習に使うシード。
    n_seeds : int
        シード 0, 1, ..., n_seeds − 1 で RNN と基準法を比べる。2 未満なら
        シードの比較を省く。
    """
    recipe = RNN_RECIPE
    data = prepare_data(recipe)
    run = train_recipe(recipe, data, seed)
    target = data.y_test[:, 0].numpy()
    print(f"学習: {recipe.train.epochs} エポック、{run.seconds:.1f} 秒")
    print(
        f"テスト MSE = {run.test_mse:.4f}"
        f"(ノイズフロア σ² = {recipe.sine.noise_variance:.4f})"
    )
    for name, value in baseline_mses(data).items():
        print(f"  {LABELS[name]:<8} MSE = {value:.4f}")
    ar = baseline_predictions(data)["linear_ar"]
    c = compare_on_test_windows(run.test_pred, ar, target, ("RNN", "線形 AR"))
    print("テスト窓での RNN − 線形 AR(RMSE):", describe(c, digits=4))
    if n_seeds < 2:
        return
    results = compare_over_seeds(
        recipe, list(range(n_seeds)), models={"rnn": RNN_MODEL}, progress=True
    )
    print(f"{n_seeds} シードのテスト MSE(シードで対応づけた比較):")
    for name, comp in seed_comparisons(results).items():
        print(f"  RNN − {LABELS[name]}: {describe(comp, digits=4)}")
