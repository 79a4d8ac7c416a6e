"""注意機構の章の実験: 式と nn の一致、学習、注意の重みの検査。

学習は CGM の章(患者単位の分割・同じ窓)と、複数のバイタルの章
(時間順の 3 区間・同じ窓)のデータで行う。注意の重みの検査は
Jain & Wallace (2019) と Wiegreffe & Pinter (2019) の考え方に沿う:
重みを並べ替える・一様にする・予測をほとんど変えずに最も違う重みを探す。
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..core.models.attention import (
    RecurrentAttentionRegressor,
    causal_mask,
    from_torch_layer,
    pool,
    scaled_dot_product_attention,
)
from ..core.models.nets import count_parameters
from ..core.training import History, TrainConfig, train_and_predict

ModelFactory = Callable[[], nn.Module]  # 引数なしで新しいモデルを作る関数


def score_spread(
    d_k: int, scaled: bool, n: int = 2000, seq_len: int = 12, seed: int = 0
) -> tuple[float, float]:
    """成分が標準正規分布の q と k の内積 q·k の広がりと、softmax の偏り。

    Parameters
    ----------
    d_k : int
        q と k の次元。
    scaled : bool
        True なら内積を √d_k で割る。
    n, seq_len : int
        試す query の数と、1 つの query が見る key の数。
    seed : int
        乱数のシード。

    Returns
    -------
    sd : float
        スコア q·k(scaled なら q·k / √d_k)の標準偏差。
    top : float
        softmax の重みの最大値の平均(1 に近いほど 1 か所に集中)。
    """
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(n, 1, d_k, generator=g)  # (n, 1, d_k)
    k = torch.randn(n, seq_len, d_k, generator=g)  # (n, T, d_k)
    scores = (q @ k.transpose(1, 2)).squeeze(1)  # (n, T)
    if scaled:
        scores = scores / math.sqrt(d_k)
    top = torch.softmax(scores, dim=-1).max(dim=-1).values
    return float(scores.std()), float(top.mean())


def _max_gap(a: torch.Tensor | None, b: torch.Tensor | None) -> float:
    """max |a − b|(勾配がない(None)ならエラー)。"""
    if a is None or b is None:
        raise ValueError("勾配が計算されていません")
    return float((a - b).detach().abs().max())


def layer_gaps(
    d_model: int = 16, nhead: int = 4, seq_len: int = 12, seed: int = 0
) -> dict[str, float]:
    """nn.TransformerEncoderLayer と、重みを写したスクラッチ版との差の最大値。

    因果マスク付きで同じ入力を流し、出力・入力の勾配・パラメータの勾配を比べる。

    Parameters
    ----------
    d_model, nhead : int
        比べる層の次元とヘッドの数(中間の次元は 2 * d_model)。
    seq_len : int
        入力の長さ(バッチは 8 窓)。
    seed : int
        重みと入力を作る乱数のシード。

    Returns
    -------
    dict[str, float]
        出力の差 "output"、入力の勾配の差 "input_grad"、全パラメータの
        勾配の相対的な差 "grad_relative"(最大の勾配の大きさで割る)。
    """
    torch.manual_seed(seed)
    layer = nn.TransformerEncoderLayer(
        d_model, nhead, 2 * d_model, dropout=0.0, batch_first=True
    )
    scratch = from_torch_layer(layer)
    mask = causal_mask(seq_len)
    x = torch.randn(8, seq_len, d_model)
    outs, grads = [], []
    for model in (layer, scratch):
        xi = x.clone().requires_grad_()
        out = model(xi, mask)
        (out * torch.linspace(-1, 1, out.shape[-1])).sum().backward()
        outs.append(out)
        grads.append((xi.grad, dict(model.named_parameters())))
    (gx_ref, p_ref), (gx_scr, p_scr) = grads
    pairs = [(p_scr[n].grad, p.grad) for n, p in p_ref.items()]
    largest = max(_max_gap(b, 0 * b) for _, b in pairs if b is not None)
    return {
        "output": _max_gap(*outs),
        "input_grad": _max_gap(gx_scr, gx_ref),
        "grad_relative": max(_max_gap(a, b) for a, b in pairs) / largest,
    }


def masked_weight(seq_len: int = 12, seed: int = 0) -> float:
    """因果マスク付きの注意で、未来(対角より上)に付いた重みの最大値。

    Parameters
    ----------
    seq_len : int
        系列の長さ(ランダムな q・k・v は形状 (4, seq_len, 8))。
    seed : int
        q・k・v を作る乱数のシード。

    Returns
    -------
    float
        未来への重みの最大値(マスクが効いていれば 0)。
    """
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(4, seq_len, 8, generator=g) for _ in range(3))
    mask = causal_mask(seq_len)
    _, weights = scaled_dot_product_attention(q, k, v, mask)
    return float(weights[:, mask].max())


@dataclass
class TrainedModel:
    """1 つのモデルを 1 つのシードで学習した結果。"""

    model: nn.Module
    history: History
    test_pred_z: np.ndarray  # テストの予測(標準化した単位)。形状 (N, out)
    seconds: float  # 学習にかかった秒数
    n_params: int  # 学習するパラメータの数


def train_regressor(
    make_model: ModelFactory,
    X: dict[str, torch.Tensor],
    y: dict[str, torch.Tensor],
    seed: int,
    train: TrainConfig,
    patience: int,
) -> TrainedModel:
    """シード seed でモデルを作って学習し(検証で早期終了)、テストを予測する。

    学習と予測は本書の共通の関数 train_and_predict が行う。

    Parameters
    ----------
    make_model : ModelFactory
        引数なしで新しいモデルを作る関数(シードを決めてから呼ぶ)。
    X, y : dict[str, torch.Tensor]
        組("train"・"val"・"test")→ 入力 (N, T, input_size) と、
        標準化した正解 (N, out)。y には "test" がなくてよい。
    seed : int
        重みの初期値とミニバッチの順を決めるシード。
    train : TrainConfig
        エポック数・バッチの大きさ・学習率。
    patience : int
        検証の損失が何エポック続けて改善しなければ止めるか。

    Returns
    -------
    TrainedModel
        学習したモデル・履歴・テストの予測 (N, out)・秒数・パラメータ数。
    """
    run = train_and_predict(make_model, X, y, seed, train, patience=patience)
    z = run.pred["test"]  # predict は出力 1 個なら (N,) にするので (N, out) に
    return TrainedModel(
        run.model,
        run.history,
        z.reshape(len(z), -1),
        run.seconds,
        count_parameters(run.model),
    )


def train_models(
    factories: dict[str, ModelFactory],
    X: dict[str, torch.Tensor],
    y: dict[str, torch.Tensor],
    seeds: Sequence[int],
    train: TrainConfig,
    patience: int,
) -> dict[str, list[TrainedModel]]:
    """各モデルを、同じシードの並びで学習する。

    Parameters
    ----------
    factories : dict[str, ModelFactory]
        モデルの名前 → 作る関数。
    X, y : dict[str, torch.Tensor]
        学習・検証・テストのデータ(:func:`train_regressor` に渡す)。
    seeds : Sequence[int]
        どのモデルにも使うシードの並び(空ではいけない)。
    train, patience : TrainConfig, int
        全モデルに共通の学習の設定と、早期終了の我慢。

    Returns
    -------
    dict[str, list[TrainedModel]]
        名前 → seeds の順の結果。
    """
    if not seeds:
        raise ValueError("seeds が空です")
    return {
        name: [
            train_regressor(make, X, y, seed, train, patience)
            for seed in seeds
        ]
        for name, make in factories.items()
    }


# ---- 注意の重みの検査(再帰層 + 注意プーリングのモデル) ----


def hidden_and_weights(
    model: RecurrentAttentionRegressor, X: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """評価モードで、勾配を計算せずに隠れ状態と注意の重みを求める。

    Parameters
    ----------
    model : RecurrentAttentionRegressor
        学習したモデル(eval() に切り替える)。
    X : torch.Tensor
        入力の窓。形状 (N, T, input_size)

    Returns
    -------
    h : torch.Tensor
        隠れ状態。形状 (N, T, H)
    alpha : torch.Tensor
        注意の重み。形状 (N, T)
    """
    model.eval()
    with torch.no_grad():
        return model.attend(X)


def predict_with_weights(
    model: RecurrentAttentionRegressor, h: torch.Tensor, alpha: torch.Tensor
) -> np.ndarray:
    """重みを α に差し替えた予測(標準化した単位)。形状 (N, output_size)

    ŷ = head(Σ_t α_t h_t)。モデルの α を渡せば、元の予測と同じ。

    Parameters
    ----------
    model : RecurrentAttentionRegressor
        線形層 head を使うモデル。
    h : torch.Tensor
        :func:`hidden_and_weights` の隠れ状態。形状 (N, T, H)
    alpha : torch.Tensor
        差し替える重み(各窓で和が 1)。形状 (N, T)

    Returns
    -------
    np.ndarray
        予測(標準化した単位)。形状 (N, output_size)
    """
    with torch.no_grad():
        return model.head(pool(h, alpha)).numpy()


def permuted_weights(
    alpha: torch.Tensor, n_perm: int, seed: int = 0
) -> torch.Tensor:
    """各窓の重みを、時刻の方向にランダムに並べ替える。

    Parameters
    ----------
    alpha : torch.Tensor
        モデルの重み。形状 (N, T)
    n_perm : int
        並べ替えの回数(どの窓にも同じ並べ替えを使う)。
    seed : int
        並べ替えを作る乱数のシード。

    Returns
    -------
    torch.Tensor
        並べ替えた重み。形状 (n_perm, N, T)
    """
    g = torch.Generator().manual_seed(seed)
    order = torch.stack(
        [torch.randperm(alpha.shape[1], generator=g) for _ in range(n_perm)]
    )  # (n_perm, T)
    return alpha[:, order].transpose(0, 1)  # (n_perm, N, T)


def output_scores(
    model: RecurrentAttentionRegressor, h: torch.Tensor, step: int
) -> np.ndarray:
    """s_t = w_step · h_t + b_step: 重みを 1 点に集めたときの step 回先の予測。

    予測は ŷ_step = Σ_t α_t s_t(α の一次式)。

    Parameters
    ----------
    model : RecurrentAttentionRegressor
        線形層 head の重み w と切片 b を使うモデル。
    h : torch.Tensor
        隠れ状態。形状 (N, T, H)
    step : int
        何回先の予測か(1 から数える。head の出力の番号 step − 1)。

    Returns
    -------
    np.ndarray
        s_t(標準化した単位、float64)。形状 (N, T)
    """
    w = model.head.weight[step - 1].detach()  # (H,)
    b = model.head.bias[step - 1].detach()
    return (h @ w + b).numpy().astype(np.float64)


def _edge_points(
    s: np.ndarray, level: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """e_i と e_j を結ぶ辺の上で Σ α_t s_t = level になる点。

    Returns
    -------
    points : 形状 (N, T, T, T)(i, j ごとの重み)
    ok : 形状 (N, T, T)(その点が辺の上にあるか)
    """
    si, sj = s[:, :, None], s[:, None, :]  # (N, T, 1), (N, 1, T)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = (level[:, None, None] - sj) / (si - sj)  # e_i に置く重み
    ok = np.isfinite(lam) & (lam >= 0) & (lam <= 1)
    lam = np.where(ok, lam, 0.0)
    eye = np.eye(s.shape[1])
    points = (
        lam[..., None] * eye[None, :, None, :]
        + (1 - lam[..., None]) * eye[None, None, :, :]
    )
    return points, ok


def _farthest_chunk(
    alpha: np.ndarray, s: np.ndarray, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """予測 Σ α_t s_t を ±eps の中に保つ重みのうち、α から最も遠いもの。

    遠さは全変動距離 TV(α, β) = ½ Σ_t |α_t − β_t|(0〜1)。TV は凸関数なので
    最大は許される重みの集合(単体と帯の共通部分)の頂点にある。頂点は、
    帯に入る e_j と、帯の端を通る辺の上の点なので、全部調べて最大を選ぶ。

    alpha, s: 形状 (N, T)。Returns: 重み β (N, T) と TV (N,)
    """
    alpha, s = np.asarray(alpha, np.float64), np.asarray(s, np.float64)
    level = np.sum(alpha * s, axis=1)  # 元の予測 (N,)
    eye = np.eye(s.shape[1])
    cands = [eye[None].repeat(len(s), 0)]  # 単体の頂点 e_j (N, T, T)
    oks = [np.abs(s - level[:, None]) <= eps]
    for sign in (-1.0, 1.0):
        points, ok = _edge_points(s, level + sign * eps)
        cands.append(points.reshape(len(s), -1, s.shape[1]))
        oks.append(ok.reshape(len(s), -1))
    cand, ok = np.concatenate(cands, 1), np.concatenate(oks, 1)
    tv = 0.5 * np.abs(cand - alpha[:, None]).sum(-1)  # (N, 候補)
    best = np.argmax(np.where(ok, tv, -1.0), axis=1)
    rows = np.arange(len(s))
    return cand[rows, best], tv[rows, best]


def farthest_weights(
    alpha: np.ndarray, s: np.ndarray, eps: float, chunk: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_farthest_chunk` を chunk 窓ずつ: 重み β (N, T) と TV (N,)。

    Parameters
    ----------
    alpha, s : 重みと :func:`output_scores` のスコア。形状 (N, T)
    eps, chunk : 予測を保つ幅(標準化した単位)と、一度に解く窓の数
    """
    a, sc = np.asarray(alpha, np.float64), np.asarray(s, np.float64)
    if a.shape != sc.shape or a.ndim != 2 or not np.all(np.isfinite(sc)):
        raise ValueError(
            f"alpha と s は同じ形状 (N, T) の有限の値にしてください"
            f"(受け取った形状: {a.shape}, {sc.shape})"
        )
    if not eps >= 0:
        raise ValueError(f"eps は 0 以上にしてください({eps})")
    parts = [
        _farthest_chunk(a[i : i + chunk], sc[i : i + chunk], eps)
        for i in range(0, len(a), chunk)
    ]
    return np.concatenate([p[0] for p in parts]), np.concatenate(
        [p[1] for p in parts]
    )


def occlusion_importance(
    model: nn.Module, X: torch.Tensor, step: int
) -> np.ndarray:
    """時刻 t の入力を窓の平均に置き換えたときの、step 回先の予測の変化。

    介入で測る各時刻の重要度(標準化した単位の絶対値)。

    Parameters
    ----------
    model : nn.Module
        出力が形状 (N, 先の数) の回帰モデル(eval() に切り替える)。
    X : torch.Tensor
        入力の窓。形状 (N, T, input_size)
    step : int
        どの先の予測の変化を測るか(1 から数える)。

    Returns
    -------
    np.ndarray
        時刻ごとの予測の変化の絶対値。形状 (N, T)
    """
    model.eval()
    mean = X.mean(dim=1, keepdim=True)  # (N, 1, input_size)
    with torch.no_grad():
        base = model(X)[:, step - 1]
        out = []
        for t in range(X.shape[1]):
            Xt = X.clone()
            Xt[:, t] = mean[:, 0]
            out.append((model(Xt)[:, step - 1] - base).abs())
    return torch.stack(out, dim=1).numpy()


def rank_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """行ごとのスピアマンの順位相関(同順位のない連続値を想定)。

    Parameters
    ----------
    a, b : np.ndarray
        順位を付けて比べる 2 つの値(重みと重要度など)。形状 (N, T)

    Returns
    -------
    np.ndarray
        窓ごとの順位相関(−1〜1)。形状 (N,)
    """
    ra = np.argsort(np.argsort(a, axis=1), axis=1).astype(np.float64)
    rb = np.argsort(np.argsort(b, axis=1), axis=1).astype(np.float64)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    return (ra * rb).sum(1) / np.sqrt((ra**2).sum(1) * (rb**2).sum(1))


def cost_row(name: str, group: Sequence[TrainedModel]) -> dict[str, str]:
    """表の行: パラメータ数と、学習の秒数・エポック数のシードの平均。

    Parameters
    ----------
    name : str
        表の「モデル」の列に書く名前。
    group : Sequence[TrainedModel]
        同じモデルのシードごとの学習の結果。

    Returns
    -------
    dict[str, str]
        列の名前 → 文字列(学習の秒数 [s] は小数 2 桁、エポックは 1 桁)。
    """
    epochs = np.mean([len(r.history.val_loss) for r in group])
    return {
        "モデル": name,
        "パラメータ数": f"{group[0].n_params:,}",
        "学習 [s]": f"{np.mean([r.seconds for r in group]):.2f}",
        "エポック": f"{epochs:.1f}",
    }
