"""長期依存性の課題(印を覚える課題)のデータ・学習・集計を確かめる。"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medrnn.longlag import (LagConfig, LagModel, LagSweep, build_lag_model,
                            clipping_experiment, init_models, lag_sweep,
                            longest_reliable_lag, make_long_lag_batch,
                            set_memory_gate_bias, solved_counts,
                            train_long_lag)

FAST = LagConfig(steps=60, batch_size=32, n_test=200)


def test_batch_shapes_and_labels() -> None:
    """形状は (B, lag+1, 1)、時刻 0 の印 ±1 が正解 1/0 と対応する。"""
    x, y = make_long_lag_batch(7, 50, 0.5, torch.Generator().manual_seed(0))
    assert x.shape == (50, 8, 1) and y.shape == (50, 1)
    assert set(torch.unique(y).tolist()) == {0.0, 1.0}
    torch.testing.assert_close(x[:, 0, 0], 2 * y[:, 0] - 1)


def test_noise_carries_no_label() -> None:
    """時刻 1 以降はノイズだけ(noise_std=0 なら 0)。"""
    x, _ = make_long_lag_batch(5, 10, 0.0, torch.Generator().manual_seed(0))
    assert torch.all(x[:, 1:] == 0)


def test_batches_are_reproducible() -> None:
    """同じシードの生成器からは同じ系列ができる。"""
    a = make_long_lag_batch(4, 6, 0.5, torch.Generator().manual_seed(3))
    b = make_long_lag_batch(4, 6, 0.5, torch.Generator().manual_seed(3))
    for u, v in zip(a, b):
        torch.testing.assert_close(u, v)


def test_memory_gate_bias_sets_forget_and_update_gates() -> None:
    """LSTM は f(4 つ中 2 番目)、GRU は z(3 つ中 2 番目)のバイアスが変わる。"""
    for kind, chunks in (("lstm", 4), ("gru", 3)):
        model = build_lag_model(LagModel(kind, gate_bias=3.0), LagConfig(hidden_size=4))
        b_ih = model.recurrent.bias_ih_l0.detach().reshape(chunks, 4)
        b_hh = model.recurrent.bias_hh_l0.detach().reshape(chunks, 4)
        assert torch.all(b_ih[1] == 3.0) and torch.all(b_hh[1] == 0.0)
        assert not torch.all(b_ih[0] == 3.0)  # ほかのゲートはそのまま


def test_short_training_lowers_the_loss() -> None:
    """数秒の学習で損失が下がり、短い遅れなら当て推量より正解する。"""
    run = train_long_lag(LagModel("gru"), lag=3, seed=0, config=FAST)
    assert len(run.losses) == FAST.steps
    assert np.mean(run.losses[-10:]) < 0.5 * np.mean(run.losses[:10])
    assert run.accuracy > 0.9
    assert run.seconds > 0


def test_training_is_reproducible() -> None:
    """同じシードなら同じ損失の列になる。"""
    a = train_long_lag(LagModel("rnn"), 3, 1, LagConfig(steps=5, n_test=10))
    b = train_long_lag(LagModel("rnn"), 3, 1, LagConfig(steps=5, n_test=10))
    assert a.losses == b.losses and a.accuracy == b.accuracy


def test_sweep_table_and_summaries() -> None:
    """表の形、最初のシードのモデル、集計関数。"""
    config = LagConfig(steps=3, n_test=20)
    sweep = lag_sweep({"RNN": LagModel("rnn")}, [2, 4], [0, 1], config)
    assert sweep.accuracy["RNN"].shape == (2, 2)
    assert set(sweep.models) == {("RNN", 2), ("RNN", 4)}
    table = {"m": np.array([[1.0, 0.95], [0.92, 0.5], [1.0, 1.0]])}
    fake = LagSweep([5, 10, 20], [0, 1], table, {}, 0.0)
    assert solved_counts(fake, "m") == [2, 1, 2]
    assert longest_reliable_lag(fake, "m") == 5  # 10 で 1 本失敗したので 5 まで
    assert longest_reliable_lag(fake, "m", threshold=0.99) is None


def test_init_models_use_the_same_seed() -> None:
    """init_models は毎回同じシードから作る(同じ種類なら同じ重み)。"""
    models = init_models({"a": LagModel("rnn"), "b": LagModel("rnn")}, seed=5)
    for p, q in zip(models["a"].parameters(), models["b"].parameters()):
        torch.testing.assert_close(p, q)


def test_clipping_experiment_records_both_runs() -> None:
    """クリッピングありの更新量は lr × max_norm を超えない。"""
    result = clipping_experiment(lag=5, seeds=[0], lr=0.3, max_norm=1.0,
                                 steps=4, batch_size=16)
    traces = result.traces
    assert set(traces) == set(result.models) == {"plain", "clipped"}
    assert max(traces["clipped"][0].update_norm) <= 0.3 * (1 + 1e-4)
    assert traces["plain"][0].grad_norm[0] == pytest.approx(
        traces["clipped"][0].grad_norm[0])
    assert result.x.shape == (16, 6, 1) and result.y.shape == (16, 1)


def test_bad_inputs_raise_clear_errors() -> None:
    """間違った設定は、何が悪いかを書いた ValueError になる。"""
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="lag"):
        make_long_lag_batch(0, 4, 0.5, g)
    with pytest.raises(ValueError, match="batch_size"):
        make_long_lag_batch(3, 0, 0.5, g)
    with pytest.raises(ValueError, match="noise_std"):
        make_long_lag_batch(3, 4, -1.0, g)
    with pytest.raises(ValueError, match="gate_bias"):
        LagModel("rnn", gate_bias=1.0)
    with pytest.raises(ValueError, match="steps"):
        LagConfig(steps=0)
    with pytest.raises(ValueError, match="lr"):
        LagConfig(lr=0.0)
    with pytest.raises(ValueError, match="kind"):
        set_memory_gate_bias(build_lag_model(LagModel("rnn"), FAST), "rnn", 1.0)
    with pytest.raises(ValueError, match="lags"):
        lag_sweep({"RNN": LagModel("rnn")}, [], [0])


def test_plot_lag_accuracy_returns_figure() -> None:
    """遅れと正解率の図は Figure を返し、形の合わない表は ValueError。"""
    from matplotlib.figure import Figure

    from medrnn.plotting import plot_lag_accuracy

    table = {"RNN": np.array([[1.0, 0.9], [0.5, 0.6]])}
    assert isinstance(plot_lag_accuracy([5, 10], table), Figure)
    with pytest.raises(ValueError, match="形状"):
        plot_lag_accuracy([5, 10, 20], table)
