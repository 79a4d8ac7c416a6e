"""LSTM の章(book/lstm.md)の設定・比較・主張の検査・コマンドラインの報告。

章のコードセルはここにある関数を呼ぶだけにする。手法どうしの優劣は
:mod:`medrnn.core.compare` の判定から文を作り、ここでは確かめない。
:func:`check_claims` が確かめるのは、どの機械・どのシードでも成り立つはずの
主張(式と実装の一致、ノイズフロアより大きく下回る値は出ない、など)だけ。
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from ..core.claims import failed
from ..core.compare import Comparison, compare_seeds, comparison_row
from ..core.evaluation import mean_std_text, mse, predict
from ..core.models.nets import RecurrentRegressor
from ..core.repro import configure_torch, set_seed
from ..core.training import (
    EarlyStopping,
    History,
    evaluate_loss,
    make_optimizer,
    run_epoch,
)
from ..theory.experiments import (
    CHAPTER_MODELS,
    LSTM_RECIPE,
    Recipe,
    RunResult,
    SineData,
    ValidationStudy,
    baseline_mses,
    epochs_to_within,
    prepare_data,
    train_recipe,
    validation_windows,
)
from ..theory.lstm_shapes import (
    LSTMShapeCase,
    expected_parameter_count,
    run_lstm,
)

CHAPTER_RECIPE = LSTM_RECIPE  # 本章の実験の設定一式
CHAPTER_SEEDS = (0, 1, 2, 3, 4)  # 比較に使うシード(5 つ)
CHAPTER_PATIENCE = 10  # 早期終了の我慢のエポック数
CHAPTER_VAL_RATIO = 0.2  # 訓練部分の末尾から検証用に取る割合
# 元の記事が示した値(第 5 エポックと第 50 エポックの訓練損失、テスト誤差)
ARTICLE = {
    "train_loss_epoch5": 0.0209,
    "train_loss": 0.0049,
    "test_mse": 0.0069,
    "test_rmse": 0.0832,
}
ARTICLE_SIGMAS = (0.05, 0.07)  # 記事の数字を説明しうる小さなノイズ σ
LABELS = {
    "lstm": "LSTM(本章)",
    "rnn": "RNN(前章)",
    "linear_ar": "線形 AR",
    "persistence": "持続予測",
    "window_mean": "窓の平均",
}
METHODS = tuple(LABELS)  # 表に並べる順
# 対応のある比較の組(A − B)。学習した 2 つのモデルどうしと、各モデルと基準法
PAIRS = (
    ("lstm", "rnn"),
    *(
        (m, b)
        for m in ("lstm", "rnn")
        for b in ("linear_ar", "persistence", "window_mean")
    ),
)
MIN_FLOOR_RATIO = 0.75  # どのテスト MSE もノイズフロアのこの倍より上にある


def seed_recipe(seed: int, recipe: Recipe = CHAPTER_RECIPE) -> Recipe:
    """シード番号 seed のデータを作るレシピ(ノイズの乱数もシードでずらす)。

    環境変数 ``MEDRNN_SEED_OFFSET`` のずらし分は、データを作る
    ``prepare_data``(``experiments.noisy_sine``)が足す。

    Parameters
    ----------
    seed : int
        サイン波のノイズの乱数のシード(学習のシードとは別)。
    recipe : Recipe
        元のレシピ。sine.seed だけを差し替える。

    Returns
    -------
    Recipe
        sine.seed を seed にした recipe の写し(元は変えない)。
    """
    return replace(recipe, sine=replace(recipe.sine, seed=seed))


def seed_results(
    seeds: Sequence[int] = CHAPTER_SEEDS,
    recipe: Recipe = CHAPTER_RECIPE,
    known: Mapping[str, Mapping[int, float]] | None = None,
) -> dict[str, list[float]]:
    """シードごとに同じデータで全手法のテスト MSE を測る。

    known には学習済みの結果 {手法名: {シード: MSE}} を渡せる(学習を省く)。
    戻り値は 手法名 → シード順のテスト MSE(長さ len(seeds))。
    """
    known = {} if known is None else known
    results: dict[str, list[float]] = {name: [] for name in METHODS}
    for seed in seeds:
        data = prepare_data(seed_recipe(seed, recipe))
        for name, value in baseline_mses(data).items():
            results[name].append(value)
        for name, model in CHAPTER_MODELS.items():
            if seed in known.get(name, {}):
                results[name].append(float(known[name][seed]))
                continue
            run = train_recipe(replace(recipe, model=model), data, seed)
            results[name].append(run.test_mse)
    return results


def seed_comparisons(
    results: Mapping[str, Sequence[float]],
) -> dict[str, Comparison]:
    """PAIRS の各組を、シードで対応させて比べる(キーは "lstm_rnn" など)。

    学習した 2 つのモデルどうしと、各モデルと 3 つの基準法の組。

    Parameters
    ----------
    results : Mapping[str, Sequence[float]]
        :func:`seed_results` の結果。手法名 → シード順のテスト MSE、
        各長さ (n_seeds,)

    Returns
    -------
    dict[str, Comparison]
        "A_B" → MSE の差 A − B の比較(小さいほど A が良い)。
    """
    return {
        f"{a}_{b}": compare_seeds(
            results[a], results[b], names=(LABELS[a], LABELS[b])
        )
        for a, b in PAIRS
    }


def per_seed_rows(
    results: Mapping[str, Sequence[float]], seeds: Sequence[int]
) -> list[dict[str, str]]:
    """手法ごとに 1 行: シードごとのテスト MSE と平均 ± 標準偏差。

    Parameters
    ----------
    results : Mapping[str, Sequence[float]]
        METHODS の各手法 → テスト MSE の列。長さ (n_seeds,)
    seeds : Sequence[int]
        results の並びに対応するシード(列の見出し)。

    Returns
    -------
    list[dict[str, str]]
        METHODS の順の行。値は小数 4 桁の文字列。
    """
    rows = []
    for name in METHODS:
        values = results[name]
        row = {"手法": LABELS[name]}
        row |= {f"シード {s}": f"{v:.4f}" for s, v in zip(seeds, values)}
        rows.append(row | {"平均 ± 標準偏差": mean_std_text(values, digits=4)})
    return rows


def difference_rows(
    comparisons: Mapping[str, Comparison],
) -> list[dict[str, str]]:
    """比較ごとに 1 行: MSE の差 A − B の平均・95% 区間・勝ち数・判定。

    差の単位はサイン波の値の 2 乗。値は小数 4 桁で丸める。

    Parameters
    ----------
    comparisons : Mapping[str, Comparison]
        :func:`seed_comparisons` が返す、組の名前 → 比較。

    Returns
    -------
    list[dict[str, str]]
        ``comparison_row`` の行(小数 4 桁)を comparisons の順に。
    """
    return [comparison_row(c, digits=4) for c in comparisons.values()]


@dataclass(frozen=True)
class Hypothesis:
    """記事の数字を説明する仮定 1 つと、その仮定の下での目安。"""

    label: str  # 仮定の説明(表に出す)
    floor: float  # その尺度でのノイズフロア(MSE の下限)
    ar_mse: float  # 線形 AR のテスト MSE(シードの平均、その尺度で)


def train_range(data: SineData) -> float:
    """訓練部分の最大 − 最小(最小–最大スケーリングの割る数)。

    Parameters
    ----------
    data : SineData
        サイン波のデータ。series の先頭 n_train 点を訓練部分とする。

    Returns
    -------
    float
        訓練部分の値の幅(系列と同じ単位)。
    """
    part = data.series[: data.n_train]
    return float(part.max() - part.min())


def article_hypotheses(
    seeds: Sequence[int] = CHAPTER_SEEDS,
    sigmas: Sequence[float] = ARTICLE_SIGMAS,
    recipe: Recipe = CHAPTER_RECIPE,
) -> list[Hypothesis]:
    """記事の設定(σ = 0.2)、その最小–最大スケーリング、小さな σ を比べる。

    線形 AR は閉じた形で一瞬で求まるので、仮定ごとに全シードで測る。
    線形 AR は切片つきなので、尺度を縮めると MSE はちょうど 1/幅² 倍になる。

    Parameters
    ----------
    seeds : Sequence[int]
        平均を取るデータのシード。
    sigmas : Sequence[float]
        元の尺度で試す小さなノイズの標準偏差 σ。
    recipe : Recipe
        記事の設定のレシピ(σ は recipe.sine.noise_std)。

    Returns
    -------
    list[Hypothesis]
        記事どおり・0〜1 に縮めた・sigmas の各 σ の順。長さ 2 + len(sigmas)
    """
    sigma = recipe.sine.noise_std
    plain, scaled, ranges = [], [], []
    for seed in seeds:
        data = prepare_data(seed_recipe(seed, recipe))
        width = train_range(data)
        ranges.append(width)
        plain.append(baseline_mses(data)["linear_ar"])
        scaled.append(plain[-1] / width**2)
    out = [
        Hypothesis(
            f"σ = {sigma:g}(記事に書かれたとおり)",
            sigma**2,
            float(np.mean(plain)),
        ),
        Hypothesis(
            f"σ = {sigma:g} を訓練部分で 0〜1 に縮めた",
            float(np.mean([sigma**2 / w**2 for w in ranges])),
            float(np.mean(scaled)),
        ),
    ]
    for s in sigmas:
        small = replace(recipe, sine=replace(recipe.sine, noise_std=s))
        mses = [
            baseline_mses(prepare_data(seed_recipe(seed, small)))["linear_ar"]
            for seed in seeds
        ]
        out.append(
            Hypothesis(f"σ = {s:g}(元の尺度)", s**2, float(np.mean(mses)))
        )
    return out


def hypothesis_rows(
    hypotheses: Sequence[Hypothesis], article_mse: float = ARTICLE["test_mse"]
) -> list[dict[str, str]]:
    """仮定ごとに 1 行: ノイズフロア、線形 AR の MSE、記事の値のフロア比。

    Parameters
    ----------
    hypotheses : Sequence[Hypothesis]
        :func:`article_hypotheses` の結果。
    article_mse : float
        記事が示したテスト MSE(フロアとの比を計算する)。

    Returns
    -------
    list[dict[str, str]]
        hypotheses と同じ順の表の行。
    """
    return [
        {
            "仮定": h.label,
            "ノイズフロア": f"{h.floor:.4f}",
            "線形 AR のテスト MSE": f"{h.ar_mse:.4f}",
            "記事のテスト MSE ÷ フロア": f"{article_mse / h.floor:.2f}",
        }
        for h in hypotheses
    ]


def persistence_and_mean(
    sigma: float,
    seeds: Sequence[int] = CHAPTER_SEEDS,
    recipe: Recipe = CHAPTER_RECIPE,
) -> dict[str, float]:
    """ノイズ σ のデータで、持続予測と窓の平均のテスト MSE(シードの平均)。

    Parameters
    ----------
    sigma : float
        サイン波に乗せるノイズの標準偏差 σ(0.1 など)。
    seeds : Sequence[int]
        データを作るシード(MSE はその平均)。
    recipe : Recipe
        ノイズの大きさ以外の設定。

    Returns
    -------
    dict[str, float]
        "persistence"・"window_mean" → テスト MSE のシード平均。
    """
    noisy = replace(recipe, sine=replace(recipe.sine, noise_std=sigma))
    runs = [baseline_mses(prepare_data(seed_recipe(s, noisy))) for s in seeds]
    return {
        name: float(np.mean([r[name] for r in runs]))
        for name in ("persistence", "window_mean")
    }


def wave_errors(data: SineData, seq_len: int) -> dict[str, float]:
    """ノイズのない sin t だけで測った、持続予測と窓の平均の二乗誤差の平均。

    ノイズがなくても残る「遅れ」の分。窓の平均は窓の中央(seq_len/2 点ほど
    過去)の値に近いので、持続予測よりずっと大きく遅れる。

    Parameters
    ----------
    data : SineData
        時刻 t を使う(ノイズの入った系列は使わない)。
    seq_len : int
        窓の長さ L(点の数)。

    Returns
    -------
    dict[str, float]
        "persistence"・"window_mean" → 全時刻で平均した二乗誤差。
    """
    wave = np.sin(data.t)
    windows = np.lib.stride_tricks.sliding_window_view(wave[:-1], seq_len)
    target = wave[seq_len:]
    return {
        "persistence": float(np.mean((windows[:, -1] - target) ** 2)),
        "window_mean": float(np.mean((windows.mean(axis=1) - target) ** 2)),
    }


def exercise_1() -> dict[str, object]:
    """練習問題 1: 4 項目・24 時刻・3 段の双方向 LSTM(H = 16)の形と
    パラメータの数。

    Returns
    -------
    dict
        "output"・"h_n"・"c_n": バッチ 8 で動かしたときの形、
        "formula"・"counted": パラメータの数(式と、実際に数えた値)
    """
    case = LSTMShapeCase(
        input_size=4, hidden_size=16, num_layers=3, bidirectional=True,
        batch_size=8, seq_len=24,
    )  # fmt: skip
    run = run_lstm(case)
    formula = expected_parameter_count(4, 16, num_layers=3, bidirectional=True)
    return {
        "output": tuple(run.output.shape),
        "h_n": tuple(run.h_n.shape),
        "c_n": tuple(run.c_n.shape),
        "formula": formula,
        "counted": sum(p.numel() for p in run.lstm.parameters()),
    }


def exercise_2(data: SineData, seeds: Sequence[int]) -> dict[str, float]:
    """練習問題 2: 持続予測と窓の平均の MSE を、期待値と並べる(σ = 0.1, 0.2)。

    期待値 = ノイズの分(2σ² と σ²(1 + 1/L))+ sin t だけで測った遅れの分。
    戻り値のキーは "wave_pers"・"pers_01"・"mean_theory_02" など。
    """
    L = data.X_train.shape[1]  # 窓の長さ
    waves = wave_errors(data, L)  # 遅れの分
    out = {
        "wave_pers": waves["persistence"],
        "wave_mean": waves["window_mean"],
    }
    for sigma, key in ((0.1, "01"), (0.2, "02")):
        measured = persistence_and_mean(sigma, seeds)  # シードの平均
        theory = {
            "pers": 2 * sigma**2 + waves["persistence"],
            "mean": sigma**2 * (1 + 1 / L) + waves["window_mean"],
        }
        for name, short in (("persistence", "pers"), ("window_mean", "mean")):
            out[f"{short}_{key}"] = measured[name]
            out[f"{short}_theory_{key}"] = theory[short]
    return out


def validation_study_once(
    recipe: Recipe,
    seed: int = 0,
    val_ratio: float = CHAPTER_VAL_RATIO,
    patience: int = CHAPTER_PATIENCE,
    tolerance: float = 0.05,
) -> ValidationStudy:
    """``experiments.validation_study`` と同じ結果を、1 回の学習で求める。

    早期終了の学習は、同じシードなら全エポック学習の途中までと同じ道を
    たどる。そこで全エポック学習しながら、早期終了が止まる時点で最良の
    重みのテスト MSE を測る(2 回目の学習を省く)。

    Parameters
    ----------
    recipe : Recipe
        データ・モデル・学習の設定。
    seed : int
        モデルの初期値と学習の乱数のシード。
    val_ratio : float
        訓練部分の末尾から検証用に取る割合。
    patience : int
        早期終了の我慢のエポック数。
    tolerance : float
        検証損失が最小値の (1 + tolerance) 倍以内に初めて入った
        エポックを数える。

    Returns
    -------
    ValidationStudy
        全エポックの学習曲線、tolerance 以内に入ったエポックと秒数、
        早期終了の学習曲線、2 つのテスト MSE、検証の窓の数。
    """
    device = configure_torch()
    (X, y), val, (X_test, y_test) = (
        tuple(t.to(device) for t in pair)
        for pair in validation_windows(recipe, val_ratio)
    )
    target = y_test[:, 0].cpu().numpy()
    set_seed(seed)
    model = RecurrentRegressor(recipe.model).to(device)
    optimizer, history = make_optimizer(model, recipe.train), History()
    stopper, stop, mse_early = EarlyStopping(model, patience), None, math.nan
    for epoch in range(1, recipe.train.epochs + 1):
        loss = run_epoch(model, optimizer, X, y, recipe.train)
        history.log(loss, evaluate_loss(model, *val))
        if stop is None and (
            stopper.should_stop(model, history.val_loss)
            or epoch == recipe.train.epochs
        ):  # 早期終了ならここで止まる: 最良の重みのテスト MSE を測っておく
            stop = epoch
            mse_early = _mse_with(model, stopper.best_state, X_test, target)
    early = History(
        history.train_loss[:stop],
        history.val_loss[:stop],
        history.seconds[:stop],
    )
    within = epochs_to_within(history.val_loss, tolerance)
    return ValidationStudy(
        history,
        within,
        history.seconds[within - 1],
        early,
        mse(predict(model, X_test), target),
        mse_early,
        len(val[0]),
    )


def _mse_with(
    model: RecurrentRegressor,
    state: dict[str, torch.Tensor],
    X: torch.Tensor,
    target: np.ndarray,
) -> float:
    """model の複製に state の重みを入れて、テスト MSE を測る。"""
    twin = copy.deepcopy(model)
    twin.load_state_dict(state)
    return mse(predict(twin, X), target)


def check_claims(
    results: Mapping[str, Sequence[float]],
    noise_var: float,
    scratch_gap: float,
    params: tuple[int, int],
    study: ValidationStudy,
    hypotheses: Sequence[Hypothesis],
) -> list[str]:
    """本文の頑健な主張のうち、結果と合わないものの文を返す。

    Parameters
    ----------
    results : 手法名 → シードごとのテスト MSE(:func:`seed_results`)
    noise_var : ノイズの分散 σ²(ノイズフロア)
    scratch_gap : 式どおりのセルと ``nn.LSTM`` の最終状態の差の最大絶対値
    params : (式から数えたパラメータ数, ``nn.LSTM`` を数えた数)
    study : 検証データでの学習曲線と早期終了(``validation_study``)
    hypotheses : :func:`article_hypotheses` の結果

    Returns
    -------
    list[str]
        成り立たない主張の文(どれも成り立てば空)。
    """
    values = np.concatenate(
        [np.asarray(v, dtype=float) for v in results.values()]
    )
    ar = np.asarray(results["linear_ar"], dtype=float)
    stop, epochs = len(study.early.val_loss), len(study.history.val_loss)
    claims = {
        "式どおりのセルは nn.LSTM と丸め誤差の範囲で一致する": (
            scratch_gap < 1e-5
        ),
        "パラメータ数の式は nn.LSTM を数えた数と一致する": (
            params[0] == params[1]
        ),
        (
            "どの手法・どのシードのテスト MSE も"
            "ノイズフロアを大きくは下回らない"
        ): (bool(np.all(values > MIN_FLOOR_RATIO * noise_var))),
        "記事のテスト MSE はノイズフロアの 5 分の 1 より小さい": (
            ARTICLE["test_mse"] < noise_var / 5
        ),
        "線形 AR は全シードで持続予測・窓の平均より誤差が小さい": (
            bool(
                np.all(ar < np.asarray(results["persistence"]))
                and np.all(ar < np.asarray(results["window_mean"]))
            )
        ),
        "線形 AR の誤差はシードの平均でノイズフロアより大きい": (
            float(ar.mean()) > noise_var
        ),
        "窓の平均は全シードで持続予測より誤差が大きい(遅れの分)": (
            bool(
                np.all(
                    np.asarray(results["window_mean"])
                    > np.asarray(results["persistence"])
                )
            )
        ),
        "早期終了は全エポック以内で止まり、検証損失が最小のエポックはその前": (
            0 < study.early.best_epoch <= stop <= epochs
        ),
        "最小値の 5% 以内に入ったエポックは最小のエポック以前": (
            study.epoch_within <= study.history.best_epoch
        ),
        "記事の数字を説明する仮定の下では、フロアは記事のテスト MSE より下": (
            all(h.floor < ARTICLE["test_mse"] for h in hypotheses[1:])
        ),
    }
    return failed(claims)


def report(seed: int = 0, n_seeds: int = 5) -> None:
    """本文の主な結果(1 回の学習、シードごとの比較、記事の数字)を表示する。

    Parameters
    ----------
    seed : int
        最初に表示する LSTM の 1 回の学習のシード。
    n_seeds : int
        シードごとの比較に使うシードの数(0 から)。2 未満なら比較を省き、
        記事の数字の仮定は 2 シードで測る。
    """
    recipe = CHAPTER_RECIPE
    run: RunResult = train_recipe(
        recipe, prepare_data(seed_recipe(seed, recipe)), seed
    )
    noise_var = recipe.sine.noise_variance
    print(
        f"LSTM(シード {seed}): {recipe.train.epochs} エポック、"
        f"{run.seconds:.1f} 秒、テスト MSE = {run.test_mse:.4f}、"
        f"RMSE = {math.sqrt(run.test_mse):.4f}(ノイズフロア σ² = "
        f"{noise_var:.4f})"
    )
    seeds = list(range(max(n_seeds, 2)))
    if n_seeds >= 2:
        known = {"lstm": {seed: run.test_mse}}
        results = seed_results(seeds, recipe, known)
        print(f"{n_seeds} シードのテスト MSE:")
        for row in per_seed_rows(results, seeds):
            print("  " + " | ".join(row.values()))
        print("シードで対応させた差(A − B、MSE):")
        for row in difference_rows(seed_comparisons(results)):
            print("  " + " | ".join(row.values()))
    print(f"記事のテスト MSE {ARTICLE['test_mse']} を説明する仮定:")
    for row in hypothesis_rows(article_hypotheses(seeds, recipe=recipe)):
        print("  " + " | ".join(row.values()))
