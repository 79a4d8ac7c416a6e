"""連合学習: 患者を「病院」に分け、Flower のシミュレーションで FedAvg を行う。

生データ(窓)は病院から出さず、各病院(Flower の ClientApp)は受け取った
重みから数エポック学習して、重みと窓の数だけを返す。サーバー(ServerApp)は
Flower の ``FedAvg`` で重みを平均する。クライアントは Flower の
シミュレーションエンジン(Ray)のワーカー、つまり別のプロセスで動く。

集約の式は :func:`fedavg` に書き、Flower が計算した 1 ラウンド目の集約と
一致することをテストと章で確かめる。Flower は外部への利用状況の送信
(テレメトリー)を既定で行うので、ここでは環境変数で止める(本書は
オフラインで実行する)。
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..cgm.tasks import CGMData
from ..core.models.nets import ModelConfig, RecurrentRegressor
from ..core.repro import seed_offset, set_seed
from ..core.training import TrainConfig, make_optimizer, run_epoch

if TYPE_CHECKING:
    from flwr.app import ArrayRecord, Message, MetricRecord
    from flwr.clientapp import ClientApp
    from flwr.serverapp import ServerApp

HOSPITAL_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # 病院の名前に使う文字
TELEMETRY_ENV = "FLWR_TELEMETRY_ENABLED"  # Flower のテレメトリー(0 で止める)
State = dict[str, torch.Tensor]  # モデルの重み(state_dict)


def _check_fedavg(states: Sequence[State], n_examples: Sequence[int]) -> None:
    """states と n_examples が同じ長さで空でなく、窓の数が正かを確かめる。"""
    if not states or len(states) != len(n_examples):
        raise ValueError(
            "states と n_examples は同じ長さの空でない並びにしてください"
            f"(受け取った長さ: {len(states)}, {len(n_examples)})"
        )
    if any(n <= 0 for n in n_examples):
        raise ValueError(
            f"窓の数は正にしてください(受け取った値: {n_examples})"
        )
    if any(set(s) != set(states[0]) for s in states):
        raise ValueError("どの病院の重みも同じ名前の集まりにしてください")


def fedavg(states: Sequence[State], n_examples: Sequence[int]) -> State:
    """FedAvg の集約: 病院 k の重み w_k を窓の数 n_k で重み付けして平均する。

    w = Σ_k (n_k / n) w_k、n = Σ_k n_k(McMahan et al. 2017)。

    Parameters
    ----------
    states : 病院ごとの重み(同じ名前・同じ形状の state_dict)
    n_examples : 病院ごとの学習に使った窓の数。形状 (K,)

    Returns
    -------
    State
        平均した重み(名前ごとに、各病院と同じ形状)。
    """
    _check_fedavg(states, n_examples)
    total = float(sum(n_examples))
    return {
        name: torch.stack(
            [n / total * s[name] for s, n in zip(states, n_examples)]
        ).sum(dim=0)
        for name in states[0]
    }


@dataclass(frozen=True)
class HospitalData:
    """1 つの病院の訓練の窓(標準化した値。CPU の NumPy 配列)。"""

    name: str  # 病院の名前
    patients: tuple[str, ...]  # この病院の被験者
    X: np.ndarray  # 入力。形状 (N, seq_len, 1)、float32
    y: np.ndarray  # 正解。形状 (N, n_ahead)、float32

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(X, y) を torch のテンソルにして返す(CPU)。

        Returns
        -------
        tuple[torch.Tensor, torch.Tensor]
            X・y とメモリを共有するテンソル。形状 (N, seq_len, 1) と
            (N, n_ahead)
        """
        return torch.from_numpy(self.X), torch.from_numpy(self.y)


def _split_counts(sizes: dict[str, int], n_hospitals: int) -> dict[str, int]:
    """診断ごとの人数 sizes に比例して、病院の数を割り振る(各 1 以上)。"""
    if not len(sizes) <= n_hospitals <= sum(sizes.values()):
        raise ValueError(
            f"病院の数 {n_hospitals} は、診断の種類 {len(sizes)} 以上・"
            f"人数 {sum(sizes.values())} 以下にしてください"
        )
    counts = {d: 1 for d in sizes}
    while sum(counts.values()) < n_hospitals:  # 1 病院あたりの人数が多い順
        d = max(sizes, key=lambda k: (sizes[k] / counts[k], k))
        counts[d] += 1
    return counts


def _shuffled_groups(
    ids: Sequence[str], diagnoses: Sequence[str], seed: int
) -> dict[str, list[str]]:
    """診断 → その診断の被験者(乱数で並べ替えたもの)。診断の名前の順。"""
    if len(ids) != len(diagnoses) or len(set(ids)) != len(ids):
        raise ValueError(
            "ids は重複なしで、diagnoses と同じ長さにしてください"
        )
    rng = np.random.default_rng(seed)
    return {
        d: [
            str(i)
            for i in rng.permutation(
                [i for i, dd in zip(ids, diagnoses) if dd == d]
            )
        ]
        for d in sorted(set(diagnoses))
    }


def _diagnosis_parts(
    groups: dict[str, list[str]], n_hospitals: int
) -> list[list[str]]:
    """各診断の人を、人数に比例した数の病院に分ける(病院の順)。"""
    counts = _split_counts({d: len(m) for d, m in groups.items()}, n_hospitals)
    return [
        [str(i) for i in part]
        for d in groups
        for part in np.array_split(groups[d], counts[d])
    ]


def assign_hospitals(
    ids: Sequence[str],
    diagnoses: Sequence[str],
    n_hospitals: int,
    by_diagnosis: bool,
    seed: int = 0,
) -> dict[str, list[str]]:
    """訓練の被験者を病院に分ける(病院の名前 → 被験者)。

    Parameters
    ----------
    ids, diagnoses, n_hospitals, seed : 被験者の番号・診断、病院の数、シード
    by_diagnosis : True なら 1 病院に 1 診断だけ。False なら診断を混ぜて配る

    Returns
    -------
    dict[str, list[str]] : 病院の名前(「病院 A」など)→ その病院の被験者
    """
    groups = _shuffled_groups(ids, diagnoses, seed)  # 診断 → 被験者
    if by_diagnosis:
        parts = _diagnosis_parts(groups, n_hospitals)
    else:
        order = [i for d in groups for i in groups[d]]
        parts = [order[k::n_hospitals] for k in range(n_hospitals)]
    return {f"病院 {HOSPITAL_LETTERS[k]}": p for k, p in enumerate(parts)}


def hospital_data(
    data: CGMData, hospitals: dict[str, list[str]]
) -> list[HospitalData]:
    """CGM の訓練の窓を、病院ごとに分ける(病院の順)。

    Parameters
    ----------
    data : CGMData
        標準化した窓を持つ CGM のデータ。訓練の窓だけを使う。
    hospitals : dict[str, list[str]]
        病院の名前 → 被験者(:func:`assign_hospitals` の結果)。

    Returns
    -------
    list[HospitalData]
        病院ごとの窓。病院 k の X は形状 (N_k, seq_len, 1)、y は (N_k, n_ahead)
    """
    X, y = data.inputs("train").numpy(), data.targets("train").numpy()
    subject = data.windows["train"].subject
    out = []
    for name, patients in hospitals.items():
        mine = np.isin(subject, patients)
        if not mine.any():
            raise ValueError(
                f"{name} の被験者 {patients} には訓練の窓がありません"
            )
        out.append(HospitalData(name, tuple(patients), X[mine], y[mine]))
    return out


def client_update(
    state: State,
    hospital: HospitalData,
    model_config: ModelConfig,
    train: TrainConfig,
    seed: int,
) -> tuple[State, float]:
    """病院の中の学習: 受け取った重みから train.epochs エポック学習する。

    Parameters
    ----------
    state, hospital, model_config, train, seed : 重み・病院の窓・設定・シード

    Returns
    -------
    state, loss : 学習後の重みと、最後のエポックの訓練損失(標準化した MSE)
    """
    set_seed(seed)
    model = RecurrentRegressor(model_config)
    model.load_state_dict(state)
    optimizer = make_optimizer(model, train)  # 病院ごと・ラウンドごとに新しく
    X, y = hospital.tensors()
    for _ in range(train.epochs):
        loss = run_epoch(model, optimizer, X, y, train)
    return model.state_dict(), loss


def client_seed(seed: int, server_round: int, partition: int) -> int:
    """病院 partition のラウンド server_round の学習に使う乱数のシード。

    Parameters
    ----------
    seed : int
        連合学習 1 回分のシード(:class:`FedJob` の seed)。
    server_round : int
        ラウンドの番号(1 から。100 未満を想定)。
    partition : int
        病院の番号(0 から。100 未満を想定)。

    Returns
    -------
    int
        10000 seed + 100 server_round + partition。
    """
    return 10_000 * seed + 100 * server_round + partition


def make_client_app(
    schemes: dict[str, list[HospitalData]],
    model_config: ModelConfig,
    train: TrainConfig,
) -> ClientApp:
    """Flower の ClientApp: 分け方 → 病院の窓、を持ち、学習の依頼に答える。

    サーバーからの設定 ``scheme``(分け方)と ``seed`` と、ノードの
    ``partition-id``(何番目の病院か)で、どの病院の窓で学習するかを決める。

    Parameters
    ----------
    schemes : dict[str, list[HospitalData]]
        分け方の名前 → 病院ごとの窓(どの分け方も同じ病院の数)。
    model_config : ModelConfig
        病院の中で学習するモデルの設定(サーバーの重みと同じ形)。
    train : TrainConfig
        1 ラウンドの病院の中の学習(エポック数・バッチサイズ・学習率)。

    Returns
    -------
    ClientApp
        学習の依頼に、学習後の重みと窓の数などの指標を返すアプリ。
    """
    from flwr.app import ArrayRecord, Message, MetricRecord, RecordDict
    from flwr.clientapp import ClientApp

    app = ClientApp()

    @app.train()
    def train_fn(msg: Message, context: Any) -> Message:
        """病院 partition-id の窓で学習し、重みと指標を返信する。

        Parameters
        ----------
        msg : Message
            サーバーからの依頼(重み "arrays" と設定 "config")。
        context : Any
            ノードの Context(node_config の "partition-id" を使う)。

        Returns
        -------
        Message
            学習後の重み "arrays" と指標 "metrics" を持つ返信。
        """
        torch.set_num_threads(1)
        config = msg.content.config_records["config"]
        part = int(context.node_config["partition-id"])
        hospital = schemes[str(config["scheme"])][part]
        seed = client_seed(
            _as_int(config["seed"]), _as_int(config["server-round"]), part
        )
        state, loss = client_update(
            msg.content.array_records["arrays"].to_torch_state_dict(),
            hospital,
            model_config,
            train,
            seed,
        )
        metrics: dict[str, int | float | list[int] | list[float]] = {
            "num-examples": len(hospital.X),
            "partition": part,  # 病院の番号(集約の順番をそろえる)
            "train-loss": loss,
            "pid": os.getpid(),  # この病院の学習をしたプロセスの番号
            "seed-offset": seed_offset(),  # ワーカーが読んだシードのずらし幅
        }
        content = RecordDict(
            {"arrays": ArrayRecord(state), "metrics": MetricRecord(metrics)}
        )
        return Message(content=content, reply_to=msg)

    return app


@dataclass
class RoundRecord:
    """1 ラウンドで Flower が受け取った重みと、Flower が集約した重み。"""

    states: list[State]  # 病院ごとの学習後の重み(病院の番号の順)
    n_examples: list[int]  # 病院ごとの窓の数(同じ順)
    aggregated: State  # Flower の FedAvg が計算した平均
    pids: list[int]  # 病院の学習をしたプロセスの番号(同じ順)
    offsets: list[int]  # ワーカーのシードのずらし幅(同じ順)


def _as_int(value: object) -> int:
    """Flower の記録の値(数)を int にする。"""
    if not isinstance(value, (int, float)):
        raise TypeError(f"数の値を期待しました(受け取った値: {value!r})")
    return int(value)


def _metric(content: Any, name: str) -> int:
    """返信の MetricRecord "metrics" の値 name を int で。"""
    return _as_int(content.metric_records["metrics"][name])


def _partition(reply: Message) -> int:
    """返信した病院の番号(エラーの返信は -1)。"""
    return -1 if reply.has_error() else _metric(reply.content, "partition")


def _record_round(
    replies: Sequence[Message], arrays: ArrayRecord
) -> RoundRecord:
    """Flower の返信と集約結果を、torch の重みの RoundRecord にする。"""
    contents = [m.content for m in replies if not m.has_error()]
    return RoundRecord(
        [c.array_records["arrays"].to_torch_state_dict() for c in contents],
        [_metric(c, "num-examples") for c in contents],
        arrays.to_torch_state_dict(),
        [_metric(c, "pid") for c in contents],
        [_metric(c, "seed-offset") for c in contents],
    )


def same_seed_offset(record: RoundRecord) -> bool:
    """病院のワーカーが、このプロセスと同じシードのずらし幅を使ったか。

    Parameters
    ----------
    record : RoundRecord
        1 ラウンド目の記録(ワーカーごとのずらし幅を含む)。

    Returns
    -------
    bool
        どのワーカーのずらし幅も :func:`seed_offset` と等しいとき True。
    """
    return all(offset == seed_offset() for offset in record.offsets)


def recording_fedavg(n_clients: int) -> Any:
    """Flower の FedAvg(1 ラウンド目の返信と集約結果を記録する)を作る。

    集約は Flower の ``FedAvg.aggregate_train`` がそのまま行う。ここで
    足すのは、その入力(病院の重み)と出力を :attr:`first_round` に残すことだけ。

    Parameters
    ----------
    n_clients : int
        毎ラウンド学習させる病院の数(全部の病院)。

    Returns
    -------
    FedAvg
        集約の前に返信を病院の番号の順に並べる FedAvg の子クラスの
        インスタンス(病院側の評価はしない)。
    """
    from flwr.serverapp.strategy import FedAvg

    class RecordingFedAvg(FedAvg):
        """1 ラウンド目の病院の重みと集約結果を first_round に残す FedAvg。"""

        first_round: RoundRecord | None = None

        def aggregate_train(
            self, server_round: int, replies: Any
        ) -> tuple[ArrayRecord | None, MetricRecord | None]:
            """返信を病院の番号の順に並べてから FedAvg で集約する。

            Parameters
            ----------
            server_round : int
                ラウンドの番号(1 から)。1 のときだけ記録を残す。
            replies : Any
                病院からの返信(Message の並び。届いた順)。

            Returns
            -------
            tuple[ArrayRecord | None, MetricRecord | None]
                Flower の FedAvg の集約結果(重みと指標)そのもの。
            """
            # 返信は届いた順(実行ごとに変わる)。病院の番号の順に並べて
            # から平均し、浮動小数点の和の順番を毎回そろえる
            replies = sorted(replies, key=_partition)
            arrays, metrics = super().aggregate_train(server_round, replies)
            if server_round == 1 and arrays is not None:
                self.first_round = _record_round(replies, arrays)
            return arrays, metrics

    return RecordingFedAvg(
        fraction_evaluate=0.0,  # 病院側の評価はしない(検証はサーバーで)
        min_train_nodes=n_clients,
        min_available_nodes=n_clients,
    )


@dataclass
class FedRun:
    """1 つの分け方・1 つのシードの連合学習の結果。"""

    scheme: str  # 病院の分け方
    seed: int  # シード(初期の重みと病院の中の学習)
    state: State  # 最後のラウンドの重み
    val_rmse: list[float]  # ラウンド 0(初期値)から各ラウンド後の検証 RMSE
    first_round: RoundRecord | None  # 1 ラウンド目の記録


@dataclass(frozen=True)
class FedJob:
    """サーバーが順に行う連合学習の 1 つ。"""

    scheme: str  # 病院の分け方(ClientApp の schemes のキー)
    seed: int  # シード
    initial: State = field(repr=False)  # 初期の重み(集中学習と同じ)


def make_server_app(
    jobs: Sequence[FedJob],
    n_clients: int,
    n_rounds: int,
    val_rmse: Any,
    runs: list[FedRun],
) -> ServerApp:
    """Flower の ServerApp: jobs を順に n_rounds ラウンドずつ FedAvg で学習。

    val_rmse(state) は重みから検証 RMSE [mg/dL] を返す関数(ラウンドごとに
    サーバー側で呼ぶ)。結果は runs に足していく。

    Parameters
    ----------
    jobs : Sequence[FedJob]
        行う連合学習(分け方・シード・初期の重み)。
    n_clients : int
        病院の数。
    n_rounds : int
        1 つの job のラウンドの数。
    val_rmse : Callable[[State], float]
        重み → 検証 RMSE [mg/dL]。
    runs : list[FedRun]
        結果を足していくリスト(job の順。呼び出し側が用意する)。

    Returns
    -------
    ServerApp
        main が jobs を順に実行するアプリ。
    """
    from flwr.app import ArrayRecord, ConfigRecord, MetricRecord
    from flwr.serverapp import ServerApp

    app = ServerApp()

    @app.main()
    def main(grid: Any, context: Any) -> None:
        """job を 1 つずつ Flower の FedAvg で学習し、結果を runs に足す。

        job ごとに新しい :func:`recording_fedavg` を作り、検証 RMSE は
        毎ラウンドのあとにサーバー側で val_rmse で測る。

        Parameters
        ----------
        grid, context : Any
            Flower が渡す Grid(ノードとの通信)と Context(使わない)。
        """
        for job in jobs:
            strategy = recording_fedavg(n_clients)
            result = strategy.start(
                grid=grid,
                initial_arrays=ArrayRecord(job.initial),
                num_rounds=n_rounds,
                train_config=ConfigRecord(
                    {"scheme": job.scheme, "seed": job.seed}
                ),
                evaluate_fn=lambda r, a: MetricRecord(
                    {"val-rmse": val_rmse(a.to_torch_state_dict())}
                ),
            )
            curve = result.evaluate_metrics_serverapp
            runs.append(
                FedRun(
                    job.scheme,
                    job.seed,
                    result.arrays.to_torch_state_dict(),
                    [float(curve[r]["val-rmse"]) for r in sorted(curve)],
                    strategy.first_round,
                )
            )

    return app


@contextmanager
def quiet_flower() -> Iterator[None]:
    """Flower の進み具合の表示(INFO)と、Ray の注意書きを一時的に隠す。

    Returns
    -------
    Iterator[None]
        with 文で使う。抜けると flwr のログの水準を元に戻す。
    """
    logger = logging.getLogger("flwr")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        logger.setLevel(level)


def simulation_backend(n_clients: int) -> dict[str, Any]:
    """Ray の設定: 病院 1 つに CPU 1 個。ワーカーは病院と CPU の数の小さい方。

    GPU のある機械でも、病院の学習は CPU で行う(小さなモデルなので速い)。

    Parameters
    ----------
    n_clients : 病院(クライアント)の数

    Returns
    -------
    dict[str, Any]
        run_simulation の backend_config(client_resources と init_args)。
    """
    n_workers = max(1, min(n_clients, os.cpu_count() or 1))
    return {
        "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
        "init_args": {
            "num_cpus": n_workers,
            "num_gpus": 0,
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": logging.ERROR,
        },
    }


def run_flower(
    schemes: dict[str, list[HospitalData]],
    jobs: Sequence[FedJob],
    model_config: ModelConfig,
    local: TrainConfig,
    n_rounds: int,
    val_rmse: Any,
) -> list[FedRun]:
    """Flower のシミュレーション(Ray)で、jobs の連合学習をまとめて行う。

    Ray の起動は 1 回だけ(全部の job で同じワーカーを使う)。終わると
    Ray を止める(ワーカーのプロセスは残らない)。

    Parameters
    ----------
    schemes : dict[str, list[HospitalData]]
        分け方の名前 → 病院ごとの窓(どの分け方も同じ数、2 以上の病院)。
    jobs : Sequence[FedJob]
        順に行う連合学習。
    model_config : ModelConfig
        モデルの設定(job の初期の重みと同じ形)。
    local : TrainConfig
        病院の中の 1 ラウンド分の学習の設定。
    n_rounds : int
        ラウンドの数。
    val_rmse : Callable[[State], float]
        重み → 検証 RMSE [mg/dL](サーバー側で毎ラウンド呼ぶ)。

    Returns
    -------
    list[FedRun]
        job ごとの結果(jobs と同じ順)。
    """
    os.environ.setdefault(TELEMETRY_ENV, "0")  # flwr を読み込む前に
    from flwr.simulation import run_simulation

    n_clients = _check_schemes(schemes)
    runs: list[FedRun] = []
    with quiet_flower():
        run_simulation(
            server_app=make_server_app(
                jobs, n_clients, n_rounds, val_rmse, runs
            ),
            client_app=make_client_app(schemes, model_config, local),
            num_supernodes=n_clients,
            backend_config=simulation_backend(n_clients),
        )
    if len(runs) != len(jobs):
        raise RuntimeError(
            f"Flower のシミュレーションが {len(jobs)} 件中 {len(runs)} 件で"
            "止まりました(ログを表示するには quiet_flower を外してください)"
        )
    return runs


def _check_schemes(schemes: dict[str, list[HospitalData]]) -> int:
    """どの分け方も同じ数(2 以上)の病院を持つかを確かめ、その数を返す。"""
    sizes = {len(h) for h in schemes.values()}
    if len(sizes) != 1 or min(sizes) < 2:
        raise ValueError(
            "どの分け方も、同じ数(2 以上)の病院にしてください"
            f"(受け取った数: {sorted(sizes)})"
        )
    return sizes.pop()
