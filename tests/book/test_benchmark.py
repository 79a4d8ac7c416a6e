"""ベンチマークが公平であること(記事のループと同じ計算をしていること)の確認。"""

from dataclasses import replace
from pathlib import Path

import pytest
from helpers import load_module

from medrnn.core.training import TrainConfig
from medrnn.theory.experiments import LSTM_RECIPE, RNN_RECIPE, prepare_data

ROOT = Path(__file__).resolve().parents[2]
bench = load_module(
    "bench_training", ROOT / "benchmarks" / "bench_training.py"
)


@pytest.mark.parametrize(
    "recipe, drop_last", [(RNN_RECIPE, False), (LSTM_RECIPE, True)]
)
def test_article_and_package_loops_reach_the_same_loss(recipe, drop_last):
    short = replace(
        recipe,
        train=TrainConfig(
            epochs=2, batch_size=recipe.train.batch_size, drop_last=drop_last
        ),
    )
    data = prepare_data(short)
    article = bench.article_loop(short, data.X_train, data.y_train, seed=0)
    package = bench.package_loop(short, data.X_train, data.y_train, seed=0)
    assert package == pytest.approx(article, rel=bench.LOSS_RTOL)
    assert article != bench.article_loop(
        short, data.X_train, data.y_train, seed=1
    )
