"""記事どおりの学習ループと、本書のパッケージの学習関数の速さを比べる。

使い方: .venv/bin/python benchmarks/bench_training.py
    [--repeats 5] [--device cpu|cuda]

同じデータ・同じシード・同じ更新回数で、(a) 記事のコードを忠実に書き直した
ループ(DataLoader、既定の設定)と (b) medrnn.core.training.fit を、
1 つのプロセスの中で交互に実行する。時間の比(中央値)を表示し、
最後の訓練損失が許容誤差内で一致することを確かめる。
CPU では CPU 時間(1 スレッド)、GPU では経過時間(最後の損失の取得で同期する)
を測る。
GPU では、記事どおりデータを CPU に置いてミニバッチごとに GPU へ送るループと、
データを最初に 1 回だけ GPU へ置くパッケージのループを比べる。
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from medrnn.core.models.nets import RecurrentRegressor
from medrnn.core.repro import configure_torch, set_seed
from medrnn.core.training import TrainConfig, fit
from medrnn.theory.experiments import (
    LSTM_RECIPE,
    RNN_RECIPE,
    Recipe,
    prepare_data,
)

# 最後の訓練損失の相対許容誤差(融合版 Adam の丸め誤差の分だけ)
LOSS_RTOL = 1e-4
# 関数の device 引数の既定値(torch.device は変更できない値なので共有してよい)
CPU = torch.device("cpu")


class ArticleModel(nn.Module):
    """記事のモデル(SimpleRNN / MedicalLSTM)を書き直したもの:
    初期状態を毎回 0 で作る。
    """

    def __init__(self, kind: str, hidden_size: int, num_layers: int) -> None:
        super().__init__()
        self.kind, self.hidden_size, self.num_layers = (
            kind,
            hidden_size,
            num_layers,
        )
        layer = nn.RNN if kind == "rnn" else nn.LSTM
        self.rnn = layer(1, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(
            x.device
        )
        if self.kind == "lstm":
            c0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(
                x.device
            )
            out, _ = self.rnn(x, (h0, c0))
        else:
            out, _ = self.rnn(x, h0)
        return self.fc(out[:, -1, :])


def article_loop(
    recipe: Recipe,
    X: torch.Tensor,
    y: torch.Tensor,
    seed: int,
    device: torch.device = CPU,
) -> float:
    """記事の学習ループ(DataLoader で shuffle=True)。
    最後のエポックの平均損失を返す。
    """
    set_seed(seed)
    model = ArticleModel(
        recipe.model.kind, recipe.model.hidden_size, recipe.model.num_layers
    ).to(device)
    # 記事と同じく、データは CPU に置いてバッチごとに送る
    X, y = X.cpu(), y.cpu()
    loader = DataLoader(
        TensorDataset(X, y),
        batch_size=recipe.train.batch_size,
        shuffle=True,
        drop_last=recipe.train.drop_last,
    )
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.train.lr)
    for _ in range(recipe.train.epochs):
        model.train()
        epoch_loss, n_seen = 0.0, 0
        for sequences, labels in loader:
            sequences, labels = sequences.to(device), labels.to(device)
            outputs = model(sequences)
            loss = criterion(outputs, labels)
            epoch_loss += loss.item() * sequences.size(0)
            n_seen += sequences.size(0)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return epoch_loss / n_seen


def package_loop(
    recipe: Recipe,
    X: torch.Tensor,
    y: torch.Tensor,
    seed: int,
    device: torch.device = CPU,
) -> float:
    """本書のパッケージの学習関数。最後のエポックの平均損失を返す。"""
    set_seed(seed)
    model = RecurrentRegressor(recipe.model).to(device)
    return fit(model, X.to(device), y.to(device), recipe.train).train_loss[-1]


@dataclass
class Result:
    name: str
    article_s: float
    package_s: float
    article_loss: float
    package_loss: float
    speedup: float  # 交互に走らせた組ごとの時間の比の中央値

    @property
    def same_loss(self) -> bool:
        return abs(self.article_loss - self.package_loss) <= LOSS_RTOL * abs(
            self.article_loss
        )


def bench(
    name: str,
    recipe: Recipe,
    repeats: int,
    seed: int = 0,
    device: torch.device = CPU,
) -> Result:
    """2 つのループを交互に repeats 回ずつ走らせ、所要時間の中央値を比べる。"""
    data = prepare_data(recipe)
    X, y = data.X_train, data.y_train
    # CPU 時間は 1 スレッドなので他の負荷に強い。
    # GPU では CPU が待つ時間も含めて経過時間
    clock = time.perf_counter if device.type == "cuda" else time.process_time
    times: dict[str, list[float]] = {"article": [], "package": []}
    losses: dict[str, float] = {}
    for _ in range(repeats):
        for key, loop in (
            ("article", article_loop),
            ("package", package_loop),
        ):
            start = clock()
            # 損失の取得で GPU と同期する
            losses[key] = loop(recipe, X, y, seed, device)
            times[key].append(clock() - start)
    # 隣り合う組ごと
    ratios = [a / p for a, p in zip(times["article"], times["package"])]
    return Result(
        name,
        statistics.median(times["article"]),
        statistics.median(times["package"]),
        losses["article"],
        losses["package"],
        statistics.median(ratios),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parser.parse_args(argv)
    available = configure_torch(args.threads)
    if args.device == "cuda" and available.type != "cuda":
        parser.error(
            "--device cuda が指定されましたが、この機械では CUDA が使えません"
        )
    device = torch.device(args.device)
    clock_name = "経過時間" if device.type == "cuda" else "CPU 時間"
    # LSTM の記事は訓練用 DataLoader に drop_last=True を付けている
    lstm = Recipe(
        LSTM_RECIPE.sine,
        LSTM_RECIPE.model,
        TrainConfig(epochs=50, batch_size=32, drop_last=True),
    )
    all_same, all_fast = True, True
    for name, recipe, goal in (
        ("RNN の記事", RNN_RECIPE, 1.4),
        ("LSTM の記事", lstm, 1.0),
    ):
        r = bench(name, recipe, args.repeats, device=device)
        n, bs = len(prepare_data(recipe).X_train), recipe.train.batch_size
        updates = recipe.train.epochs * (
            n // bs if recipe.train.drop_last else -(-n // bs)
        )
        all_same &= r.same_loss
        all_fast &= r.speedup > goal
        print(
            f"{name}: {updates} 回の更新 / 記事のループ {r.article_s:.2f} 秒、"
            f"パッケージ {r.package_s:.2f} 秒"
            f"({device.type}、{clock_name}の中央値、{args.repeats} 組)"
            f"→ 組ごとの比の中央値 {r.speedup:.2f} 倍"
            f"(目標 {goal} 倍超)"
        )
        print(
            f"  最後の訓練損失: 記事 {r.article_loss:.8f}"
            f" / パッケージ {r.package_loss:.8f}"
            f" → {'一致' if r.same_loss else '不一致'}"
            f"(相対許容誤差 {LOSS_RTOL})"
        )
    print("損失の一致:", "すべて一致" if all_same else "不一致あり(失敗)")
    print(
        "速さの目標:",
        "達成" if all_fast else "未達(機械の混み具合にも左右される)",
    )
    return 0 if all_same else 1


if __name__ == "__main__":
    sys.exit(main())
