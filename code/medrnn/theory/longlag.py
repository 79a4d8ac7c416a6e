"""長期依存性の実験: 最初の時刻の「印」を、ノイズが続いたあとで答えさせる。

系列の長さは lag + 1。時刻 0 の値が +1 なら正解は 1、-1 なら 0。
時刻 1〜lag はノイズ N(0, noise_std²) だけで、答えの手がかりを含まない。
臨床でいえば「入院時のある出来事を、その後の雑多な測定値のあとで思い出す」形の課題。
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..core.models.nets import ModelConfig, RecurrentRegressor
from ..core.repro import configure_torch, set_seed, shifted
from ..core.training import train_step
from .gradients import (
    BCE,
    UpdateTrace,
    scale_recurrent_weights,
)

N_GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # 重みを縦に積んだゲート(と候補)の数

# 記憶を残すゲートの位置: LSTM は f(i, f, g, o の 2 番目)、
# GRU は z(r, z, n の 2 番目)
GATE_CHUNK = {"lstm": 1, "gru": 1}
TEST_SEED_OFFSET = 10_000  # テスト系列の乱数を訓練と分けるためのずらし
CHECK_SEED_OFFSET = 20_000  # 「解けたか」の確かめ用の系列のずらし


def _check_batch_args(lag: int, batch_size: int, noise_std: float) -> None:
    """系列を作る引数が使える値かを確かめる。"""
    if not isinstance(lag, int) or lag < 1:
        raise ValueError(
            f"lag は 1 以上の整数にしてください(受け取った値: {lag!r})"
        )
    if batch_size < 1:
        raise ValueError(
            f"batch_size は 1 以上にしてください(受け取った値: {batch_size})"
        )
    if not noise_std >= 0:
        raise ValueError(
            f"noise_std は 0 以上にしてください(受け取った値: {noise_std})"
        )


def make_long_lag_batch(
    lag: int, batch_size: int, noise_std: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """印つきの系列を batch_size 本作る。

    Parameters
    ----------
    lag : 印から答えるまでの時刻の数(系列の長さは lag + 1)
    batch_size, noise_std : 系列の本数と、印のあとのノイズの標準偏差
    generator : 乱数生成器(torch.Generator)

    Returns
    -------
    x : torch.Tensor
        入力。形状 (batch_size, lag + 1, 1)。x[:, 0] が印(±1)
    y : torch.Tensor
        正解(印が +1 なら 1.0、-1 なら 0.0)。形状 (batch_size, 1)
    """
    _check_batch_args(lag, batch_size, noise_std)
    y = torch.randint(0, 2, (batch_size, 1), generator=generator).float()
    x = noise_std * torch.randn(batch_size, lag + 1, 1, generator=generator)
    x[:, 0, 0] = 2 * y[:, 0] - 1  # 時刻 0 に印 ±1 を置く
    return x, y  # (B, lag+1, 1), (B, 1)


@dataclass(frozen=True)
class LagModel:
    """比べるモデル 1 つ。"""

    kind: str  # "rnn"・"lstm"・"gru"
    # 忘却ゲート(LSTM)/更新ゲート(GRU)のバイアスの初期値。
    # None は PyTorch の既定
    gate_bias: float | None = None

    def __post_init__(self) -> None:
        """gate_bias がゲートのあるモデルにだけ指定されているかを確かめる。"""
        if self.gate_bias is not None and self.kind not in GATE_CHUNK:
            raise ValueError(
                "gate_bias は LSTM と GRU だけに使えます"
                f"(受け取った種類: {self.kind!r})"
            )


@dataclass(frozen=True)
class LagConfig:
    """学習と評価の設定(どのモデル・どの遅れにも共通)。"""

    noise_std: float = 0.5  # 印のあとに続くノイズの標準偏差
    hidden_size: int = 16  # 隠れ状態の次元
    steps: int = 200  # 更新の回数(毎回新しい系列を作る)
    batch_size: int = 32  # 1 回の更新に使う系列の数
    lr: float = 1e-2  # Adam の学習率
    n_test: int = 1000  # 正解率を測るテスト系列の数
    check_every: int = 10  # 何回の更新ごとに「解けたか」を確かめるか
    n_check: int = 256  # 確かめに使う系列の数(テスト系列とは別)
    stop_accuracy: float = 0.95  # 確かめの正解率がこれ以上なら学習を止める

    def __post_init__(self) -> None:
        """設定の値が使えるかを確かめる(使えなければ ValueError)。"""
        for name in (
            "hidden_size",
            "steps",
            "batch_size",
            "n_test",
            "check_every",
            "n_check",
        ):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"{name} は 1 以上にしてください"
                    f"(受け取った値: {getattr(self, name)})"
                )
        if not (self.noise_std >= 0 and self.lr > 0):
            raise ValueError(
                "noise_std は 0 以上、lr は正にしてください"
                f"(noise_std={self.noise_std}, lr={self.lr})"
            )
        if not 0.5 < self.stop_accuracy <= 1.0:
            raise ValueError(
                "stop_accuracy は 0.5 より大きく 1 以下にしてください"
                f"(受け取った値: {self.stop_accuracy})"
            )


def set_memory_gate_bias(model: nn.Module, kind: str, bias: float) -> None:
    """LSTM の忘却ゲート f / GRU の更新ゲート z のバイアスを bias にする。

    すべての層で bias_ih 側を bias、bias_hh 側を 0 にするので、合計の
    バイアスが bias になる。
    bias が大きいほど、学習の初めから「前の状態を残す」向きになる。

    Parameters
    ----------
    model : nn.Module
        再帰層を持つモデル(その場で書き換える)。
    kind : {"lstm", "gru"}
        再帰層の種類。
    bias : float
        ゲートのバイアスの合計。
    """
    if kind not in GATE_CHUNK:
        raise ValueError(
            f"kind は lstm か gru にしてください(受け取った値: {kind!r})"
        )
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "bias_ih" in name or "bias_hh" in name:
                hidden = p.shape[0] // (4 if kind == "lstm" else 3)
                rows = slice(
                    GATE_CHUNK[kind] * hidden, (GATE_CHUNK[kind] + 1) * hidden
                )
                p[rows] = bias if "bias_ih" in name else 0.0


def build_lag_model(spec: LagModel, config: LagConfig) -> RecurrentRegressor:
    """再帰層 1 段 + 線形層のモデル(出力はロジット 1 つ)を作る。

    Parameters
    ----------
    spec : LagModel
        再帰層の種類とゲートのバイアス。
    config : LagConfig
        学習と評価の設定。

    Returns
    -------
    RecurrentRegressor
        学習前のモデル。
    """
    model = RecurrentRegressor(
        ModelConfig(kind=spec.kind, hidden_size=config.hidden_size)
    )
    if spec.gate_bias is not None:
        set_memory_gate_bias(model, spec.kind, spec.gate_bias)
    return model


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """ロジットが正なら 1 と答えたとみなしたときの正解率。

    Parameters
    ----------
    model : nn.Module
        ロジットを返すモデル。
    x : torch.Tensor
        入力。形状 (batch, seq_len, 1)
    y : torch.Tensor
        正解(0 か 1)。形状 (batch, 1)

    Returns
    -------
    float
        正解率(0〜1)。
    """
    with torch.inference_mode():
        return ((model(x) > 0).float() == y).float().mean().item()


@dataclass
class LagRun:
    """学習 1 回分の結果。"""

    model: RecurrentRegressor  # 学習済みモデル(止めた時点の重み)
    losses: list[float]  # 更新ごとの訓練損失
    accuracy: float  # テスト系列での正解率
    solved_step: int | None  # 確かめの正解率が stop_accuracy に達した更新回数
    seconds: float  # 学習と評価にかかった秒数


Batch = tuple[torch.Tensor, torch.Tensor]


def _lag_streams(
    lag: int, seed: int, config: LagConfig, device: torch.device
) -> tuple[torch.Generator, Batch, Batch]:
    """訓練の乱数生成器と、確かめ用・テスト用の系列(シードごとに別)。"""
    train_gen = torch.Generator().manual_seed(shifted(seed))
    sets = []
    for offset, n in (
        (CHECK_SEED_OFFSET, config.n_check),
        (TEST_SEED_OFFSET, config.n_test),
    ):
        gen = torch.Generator().manual_seed(shifted(seed) + offset)
        x, y = make_long_lag_batch(lag, n, config.noise_std, gen)
        sets.append((x.to(device), y.to(device)))
    return train_gen, sets[0], sets[1]


def train_long_lag(
    spec: LagModel, lag: int, seed: int, config: LagConfig = LagConfig()
) -> LagRun:
    """毎回新しい系列でミニバッチを作り、Adam で学習して正解率を測る。

    check_every 回の更新ごとに確かめ用の系列で正解率を測り、
    stop_accuracy に達したら(課題が解けたので)そこで学習を止める。
    シード 1 つの :func:`train_long_lag_seeds` と同じ(モデル 1 つを
    まとめたモデルは、そのモデル自身と同じ重みを持つ)。

    Parameters
    ----------
    spec, lag, config : :func:`train_long_lag_seeds` と同じ
    seed : 初期値と系列の乱数のシード

    Returns
    -------
    LagRun
        学習済みモデル・損失・テストの正解率・解けた更新回数・秒数。
    """
    return train_long_lag_seeds(spec, lag, [seed], config)[0]


Block = tuple[torch.Tensor, torch.Tensor | None]  # (行の番号, 列の番号)


def _check_stackable(config: ModelConfig) -> None:
    """まとめて学習できるのは 1 段・出力 1 つのモデルだけ。"""
    if config.num_layers != 1 or config.output_size != 1:
        raise ValueError(
            "まとめて学習できるのは 1 段・出力 1 つのモデルです"
            f"(受け取った設定: {config})"
        )


def _blocks(config: ModelConfig, n: int) -> dict[str, list[Block]]:
    """n 個を積み重ねたモデルの各引数のうち、s 番目のモデルが使う行と列。

    ゲートは PyTorch と同じく縦に積む(ゲート g のシード s の行は
    g * n * H + s * H から H 行)。バイアスは列を持たない(None)。
    """
    _check_stackable(config)
    hid, inp = config.hidden_size, config.input_size
    gates = N_GATES[config.kind]
    out: dict[str, list[Block]] = {}
    for s in range(n):
        rows = (
            torch.arange(gates)[:, None] * n * hid
            + s * hid
            + torch.arange(hid)
        ).reshape(-1)  # (G * H,)
        cols = s * hid + torch.arange(hid)  # (H,)
        in_cols = s * inp + torch.arange(inp)  # (I,)
        blocks = {
            "recurrent.weight_ih_l0": (rows, in_cols),
            "recurrent.weight_hh_l0": (rows, cols),
            "recurrent.bias_ih_l0": (rows, None),
            "recurrent.bias_hh_l0": (rows, None),
            "head.weight": (torch.tensor([s]), cols),
            "head.bias": (torch.tensor([s]), None),
        }
        for name, block in blocks.items():
            out.setdefault(name, []).append(block)
    return out


def _index(block: Block) -> tuple[torch.Tensor, ...]:
    """ブロック (行, 列) を、テンソルの添字に使える形にする。"""
    rows, cols = block
    return (rows,) if cols is None else (rows[:, None], cols)


def stack_models(models: list[RecurrentRegressor]) -> RecurrentRegressor:
    """n 個の同じ形のモデルを、重みがブロック対角の 1 つのモデルにまとめる。

    入力は各モデルの入力を特徴量の向きに並べたもの(形状 (batch, seq_len,
    n * input_size))、出力の s 列目が s 番目のモデルの出力になる。
    ブロックの外の重みは 0。

    Parameters
    ----------
    models : list[RecurrentRegressor]
        同じ設定(1 段・出力 1 つ)の n 個のモデル。

    Returns
    -------
    RecurrentRegressor
        hidden_size が n 倍のモデル。
    """
    config = models[0].config
    if any(m.config != config for m in models):
        raise ValueError("まとめるモデルはすべて同じ設定にしてください")
    n = len(models)
    stacked = RecurrentRegressor(
        replace(
            config,
            hidden_size=n * config.hidden_size,
            input_size=n * config.input_size,
            output_size=n,
        )
    )
    blocks = _blocks(config, n)
    with torch.no_grad():
        for name, p in stacked.named_parameters():
            p.zero_()
            for model, block in zip(models, blocks[name]):
                p[_index(block)] = model.get_parameter(name)
    return stacked


def unstack_model(
    stacked: RecurrentRegressor, config: ModelConfig, s: int, n: int
) -> RecurrentRegressor:
    """stack_models でまとめたモデルから、s 番目のモデルを取り出す。

    Parameters
    ----------
    stacked : RecurrentRegressor
        :func:`stack_models` でまとめたモデル。
    config : ModelConfig
        1 つのモデルの設定。
    s : int
        取り出すモデルの番号(0 から)。
    n : int
        まとめたモデルの数。

    Returns
    -------
    RecurrentRegressor
        s 番目のモデル(重みは複製)。
    """
    model = RecurrentRegressor(config)
    blocks = _blocks(config, n)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(stacked.get_parameter(name)[_index(blocks[name][s])])
    return model.to(stacked.head.weight.device)


def seed_masks(config: ModelConfig, n: int) -> list[dict[str, torch.Tensor]]:
    """まとめたモデルの各引数で、s 番目のモデルの要素だけ 1 の配列(s ごと)。

    Parameters
    ----------
    config : ModelConfig
        1 つのモデルの設定。
    n : int
        まとめたモデルの数。

    Returns
    -------
    list[dict[str, torch.Tensor]]
        長さ n。s 番目は 引数の名前 → 0/1 の配列。
    """
    stacked = stack_models([RecurrentRegressor(config) for _ in range(n)])
    blocks = _blocks(config, n)
    out = []
    for s in range(n):
        masks = {
            name: torch.zeros_like(p) for name, p in stacked.named_parameters()
        }
        for name, mask in masks.items():
            mask[_index(blocks[name][s])] = 1.0
        out.append(masks)
    return out


def block_masks(config: ModelConfig, n: int) -> dict[str, torch.Tensor]:
    """まとめたモデルの各引数で、どれかのブロックに入る要素だけ 1 の配列。

    Parameters
    ----------
    config, n : :func:`seed_masks` と同じ

    Returns
    -------
    dict[str, torch.Tensor]
        引数の名前 → その引数と同じ形状の 0/1 の配列(:func:`seed_masks`
        の和。ブロックは重ならない)。
    """
    per_seed = seed_masks(config, n)
    return {
        name: torch.stack([m[name] for m in per_seed]).sum(dim=0)
        for name in per_seed[0]
    }


def _stacked_batch(batches: list[Batch], device: torch.device) -> Batch:
    """シードごとの (x, y) を特徴量の向きに並べる: (B, T, n), (B, n)。"""
    x = torch.cat([b[0] for b in batches], dim=2)  # (B, T, n)
    y = torch.cat([b[1] for b in batches], dim=1)  # (B, n)
    return x.to(device), y.to(device)


def _stacked_accuracy(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """まとめたモデルの、シードごとの正解率。形状 (n,)"""
    with torch.inference_mode():
        return ((model(x) > 0).float() == y).float().mean(dim=0).cpu()


def _per_seed_bce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """まとめたモデルの、シードごとの 2 値交差エントロピー(バッチ平均)。

    Parameters
    ----------
    logits, y : ロジットと正解(0 か 1)。形状 (batch, n)

    Returns
    -------
    torch.Tensor
        形状 (n,)。:func:`~medrnn.core.training.train_step` は和を逆伝播する
    """
    return BCE(logits, y, reduction="none").mean(dim=0)


def _mask_grads(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    """逆伝播のあと、各引数の勾配にマスクを掛ける(マスクが 0 の要素は 0)。"""
    for name, p in model.named_parameters():
        assert p.grad is not None  # backward のあとなので必ずある
        p.grad.mul_(masks[name])


def train_long_lag_seeds(
    spec: LagModel, lag: int, seeds: list[int], config: LagConfig = LagConfig()
) -> list[LagRun]:
    """複数のシードの train_long_lag を、1 つのモデルにまとめて同時に行う。

    シードごとのモデルを重みのブロック対角に並べ(:func:`stack_models`)、
    損失はシードごとの損失の和にする。ブロックの外の勾配を 0 にするので、
    各シードは別々に学習したのと同じ計算になる(丸め誤差を除く。テストで
    確かめている)。小さなモデルでは 1 回の更新の手間がほぼ固定費なので、
    シードの数に近い倍率で速くなる。シードごとに、確かめの正解率が
    stop_accuracy に達した時点の重みを残す。

    Parameters
    ----------
    spec : LagModel
        学習するモデル。
    lag : int
        印から答えるまでの時刻の数。
    seeds : list[int]
        シードの並び。
    config : LagConfig
        学習と評価の設定。

    Returns
    -------
    list[LagRun]
        シードの順の結果。
    """
    device = configure_torch()
    start, n = time.perf_counter(), len(seeds)
    streams = [_lag_streams(lag, seed, config, device) for seed in seeds]
    check = _stacked_batch([st[1] for st in streams], device)
    models = []
    for seed in seeds:
        set_seed(seed)
        models.append(build_lag_model(spec, config))
    single = models[0].config
    stacked = stack_models(models).to(device)
    masks = {k: m.to(device) for k, m in block_masks(single, n).items()}
    optimizer = torch.optim.Adam(stacked.parameters(), lr=config.lr)
    keep_blocks = partial(_mask_grads, masks=masks)  # ブロックの外は 0 のまま
    losses: list[list[float]] = [[] for _ in seeds]
    solved: list[int | None] = [None] * n
    kept: list[RecurrentRegressor | None] = [None] * n
    for step in range(1, config.steps + 1):
        batches = [
            make_long_lag_batch(
                lag, config.batch_size, config.noise_std, st[0]
            )
            for st in streams
        ]
        x, y = _stacked_batch(batches, device)  # (B, T, n), (B, n)
        values = train_step(
            stacked, optimizer, x, y,
            loss_fn=_per_seed_bce, before_step=keep_blocks,
        ).tolist()  # fmt: skip
        for s in range(n):
            if kept[s] is None:
                losses[s].append(values[s])
        if step % config.check_every == 0:
            acc = _stacked_accuracy(stacked, *check)
            for s in range(n):
                if kept[s] is None and acc[s] >= config.stop_accuracy:
                    solved[s] = step
                    kept[s] = unstack_model(stacked, single, s, n)
        if all(k is not None for k in kept):
            break
    seconds = (time.perf_counter() - start) / n
    runs = []
    for s, stream in enumerate(streams):
        model = kept[s] or unstack_model(stacked, single, s, n)
        runs.append(
            LagRun(
                model.cpu(),
                losses[s],
                accuracy(model, *stream[2]),
                solved[s],
                seconds,
            )
        )
    return runs


@dataclass
class LagSweep:
    """遅れ × シードの正解率と、解けるまでの更新回数の表。"""

    lags: list[int]  # 試した遅れ
    seeds: list[int]  # 試したシード
    accuracy: dict[str, np.ndarray]  # モデル名 → 形状 (len(lags), len(seeds))
    # (モデル名, 遅れ) → 最初のシードの学習済みモデル
    models: dict[tuple[str, int], RecurrentRegressor]
    seconds: float  # 全体にかかった秒数
    # モデル名 → 形状 (len(lags), len(seeds))。解けなかった組は NaN
    solved_step: dict[str, np.ndarray] = field(default_factory=dict)


def lag_sweep(
    specs: dict[str, LagModel],
    lags: list[int],
    seeds: list[int],
    config: LagConfig = LagConfig(),
    progress: bool = False,
) -> LagSweep:
    """すべてのモデル・遅れ・シードの組み合わせで学習し、正解率を集める。

    同じモデル・同じ遅れの全シードは :func:`train_long_lag_seeds` で
    まとめて学習する。

    Parameters
    ----------
    specs : dict[str, LagModel]
        モデル名 → モデル。
    lags : list[int]
        試す遅れ。
    seeds : list[int]
        試すシード。
    config : LagConfig
        学習と評価の設定。
    progress : bool
        True なら進み具合を表示する。

    Returns
    -------
    LagSweep
        正解率 (len(lags), len(seeds)) などの表。
    """
    if not specs or not lags or not seeds:
        raise ValueError("specs・lags・seeds はどれも 1 つ以上にしてください")
    start = time.perf_counter()
    shape = (len(lags), len(seeds))
    table = {name: np.zeros(shape) for name in specs}
    steps = {name: np.full(shape, np.nan) for name in specs}
    models = {}
    for name, spec in tqdm(specs.items(), desc="学習", disable=not progress):
        for i, lag in enumerate(lags):
            runs = train_long_lag_seeds(spec, lag, list(seeds), config)
            table[name][i] = [run.accuracy for run in runs]
            steps[name][i] = [
                np.nan if r.solved_step is None else r.solved_step
                for r in runs
            ]
            models[(name, lag)] = runs[0].model
    return LagSweep(
        list(lags),
        list(seeds),
        table,
        models,
        time.perf_counter() - start,
        steps,
    )


def solved_counts(
    sweep: LagSweep, name: str, threshold: float = 0.9
) -> list[int]:
    """遅れごとに、正解率が threshold 以上だったシードの数。

    Parameters
    ----------
    sweep : LagSweep
        :func:`lag_sweep` の結果。
    name : str
        モデル名。
    threshold : float
        解けたとみなす正解率。

    Returns
    -------
    list[int]
        遅れの順のシードの数。長さ len(sweep.lags)
    """
    return [int(n) for n in (sweep.accuracy[name] >= threshold).sum(axis=1)]


def longest_reliable_lag(
    sweep: LagSweep, name: str, threshold: float = 0.9
) -> int | None:
    """最短の遅れから数えて、全シードが threshold 以上を保った最長の遅れ。

    Parameters
    ----------
    sweep, name, threshold : :func:`solved_counts` と同じ

    Returns
    -------
    int or None
        遅れ。最短の遅れですでに失敗したシードがあれば None。
    """
    longest = None
    for lag, count in zip(sweep.lags, solved_counts(sweep, name, threshold)):
        if count < len(sweep.seeds):
            break
        longest = lag
    return longest


def init_models(
    specs: dict[str, LagModel], seed: int, config: LagConfig = LagConfig()
) -> dict[str, nn.Module]:
    """学習前のモデルを、どれも同じシードから作る。

    Parameters
    ----------
    specs : dict[str, LagModel]
        モデル名 → モデル。
    seed : int
        初期値の乱数のシード。
    config : LagConfig
        学習と評価の設定。

    Returns
    -------
    dict[str, nn.Module]
        モデル名 → 学習前のモデル。
    """
    models: dict[str, nn.Module] = {}
    for name, spec in specs.items():
        set_seed(seed)
        models[name] = build_lag_model(spec, config)
    return models


@dataclass
class ClippingResult:
    """勾配クリッピングの実験結果。キーは "plain"(なし)と "clipped"(あり)。"""

    traces: dict[str, list[UpdateTrace]]  # シードごとの更新の記録
    models: dict[str, list[RecurrentRegressor]]  # シードごとの学習後のモデル
    x: torch.Tensor  # 学習に使った系列。形状 (batch_size, lag + 1, 1)
    y: torch.Tensor  # 正解。形状 (batch_size, 1)


def _clip_scales(
    grads: dict[str, torch.Tensor],
    masks: list[dict[str, torch.Tensor]],
    max_norm: float | None,
) -> tuple[dict[str, torch.Tensor], list[float]]:
    """モデルごとの勾配ノルムと、勾配に掛ける倍率(クリッピング)。"""
    norms, scales = [], {k: torch.zeros_like(g) for k, g in grads.items()}
    for mask in masks:
        total = sum(((g * mask[k]) ** 2).sum() for k, g in grads.items())
        assert isinstance(total, torch.Tensor)  # grads は空でない
        norm = float(torch.sqrt(total))
        coef = 1.0 if max_norm is None else min(1.0, max_norm / (norm + 1e-6))
        for k in scales:
            scales[k] += coef * mask[k]  # ブロックの外は 0 のまま
        norms.append(norm)
    return scales, norms


def sgd_update_norms_stacked(
    stacked: RecurrentRegressor,
    masks: list[dict[str, torch.Tensor]],
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    lr: float,
    max_norm: float | None = None,
) -> list[UpdateTrace]:
    """まとめたモデルで、各モデルに sgd_update_norms を使うのと同じ計算をする。

    勾配ノルムはモデル(ブロック)ごとに求め、max_norm を超えたモデルの勾配
    だけを縮める。

    Parameters
    ----------
    stacked : RecurrentRegressor
        :func:`stack_models` でまとめたモデル。
    masks : list[dict[str, torch.Tensor]]
        :func:`seed_masks` の結果。
    x : torch.Tensor
        入力。形状 (batch, seq_len, n)
    y : torch.Tensor
        正解。形状 (batch, n)
    steps : int
        更新の回数。
    lr : float
        学習率。
    max_norm : float or None
        勾配ノルムの上限。None ならクリッピングしない。

    Returns
    -------
    list[UpdateTrace]
        モデルごとの更新の記録。長さ n
    """
    params = dict(stacked.named_parameters())
    optimizer = torch.optim.SGD(stacked.parameters(), lr=lr)
    traces = [UpdateTrace() for _ in masks]

    def clip(model: nn.Module) -> None:
        """逆伝播のあと、モデルごとの勾配ノルムを記録して勾配を縮める。"""
        with torch.no_grad():
            grads: dict[str, torch.Tensor] = {}
            for k, p in model.named_parameters():
                assert p.grad is not None  # backward のあとなので必ずある
                grads[k] = p.grad
            scales, norms = _clip_scales(grads, masks, max_norm)
            for k, g in grads.items():
                g.mul_(scales[k])  # ブロックの外は 0 のまま
        for trace, norm in zip(traces, norms):
            trace.grad_norm.append(norm)

    for _ in range(steps):
        before = {k: p.detach().clone() for k, p in params.items()}
        losses = train_step(
            stacked, optimizer, x, y, loss_fn=_per_seed_bce, before_step=clip
        ).tolist()
        for s, mask in enumerate(masks):
            delta = sum(
                ((params[k].detach() - before[k]) * mask[k]).square().sum()
                for k in params
            )
            assert isinstance(delta, torch.Tensor)  # params は空でない
            traces[s].loss.append(losses[s])
            traces[s].update_norm.append(float(torch.sqrt(delta)))
    return traces


def clipping_experiment(
    lag: int,
    seeds: list[int],
    lr: float = 0.3,
    max_norm: float = 1.0,
    steps: int = 100,
    scale: float = 5.0,
    batch_size: int = 256,
    config: LagConfig = LagConfig(),
) -> ClippingResult:
    """W_hh を scale 倍した(勾配が爆発する)RNN を、同じ系列で SGD 学習する。

    シードごとに同じ初期値から、クリッピングなし("plain")と
    あり("clipped"、勾配ノルムの上限 max_norm)の 2 通りを学習して記録する。
    全シードは :func:`sgd_update_norms_stacked` でまとめて学習する。

    Parameters
    ----------
    lag : int
        印から答えるまでの時刻の数。
    seeds : list[int]
        シードの並び。
    lr : float
        SGD の学習率。
    max_norm : float
        クリッピングの上限。
    steps : int
        更新の回数。
    scale : float
        W_hh に掛ける倍率。
    batch_size : int
        学習に使う系列の数(全ステップで同じ系列)。
    config : LagConfig
        学習と評価の設定。

    Returns
    -------
    ClippingResult
        シードごとの更新の記録・学習後のモデル・使った系列。
    """
    device = configure_torch()
    x, y = make_long_lag_batch(
        lag,
        batch_size,
        config.noise_std,
        torch.Generator().manual_seed(TEST_SEED_OFFSET),
    )
    x, y = x.to(device), y.to(device)
    result = ClippingResult({}, {}, x, y)
    n = len(seeds)
    for name, limit in (("plain", None), ("clipped", max_norm)):
        models = []
        for seed in seeds:
            set_seed(seed)
            model = build_lag_model(LagModel("rnn"), config)
            scale_recurrent_weights(model, scale)  # 再帰の重みを大きくする
            models.append(model)
        single = models[0].config
        stacked = stack_models(models).to(device)
        masks = [
            {k: m.to(device) for k, m in ms.items()}
            for ms in seed_masks(single, n)
        ]
        result.traces[name] = sgd_update_norms_stacked(
            stacked, masks, x.repeat(1, 1, n), y.repeat(1, n), steps, lr, limit
        )
        result.models[name] = [
            unstack_model(stacked, single, s, n) for s in range(n)
        ]
    return result
