"""長期依存性の課題(印を覚える課題)のデータ・学習・集計を確かめる。"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medrnn.core.models.nets import ModelConfig, RecurrentRegressor
from medrnn.theory.longlag import (
    LagConfig,
    LagModel,
    LagSweep,
    block_masks,
    build_lag_model,
    clipping_experiment,
    init_models,
    lag_sweep,
    longest_reliable_lag,
    make_long_lag_batch,
    set_memory_gate_bias,
    solved_counts,
    stack_models,
    train_long_lag,
    train_long_lag_seeds,
    unstack_model,
)

FAST = LagConfig(steps=60, batch_size=32, n_test=200)
NO_STOP = LagConfig(steps=60, batch_size=32, n_test=200, check_every=1000)


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
        model = build_lag_model(
            LagModel(kind, gate_bias=3.0), LagConfig(hidden_size=4)
        )
        b_ih = model.recurrent.bias_ih_l0.detach().reshape(chunks, 4)
        b_hh = model.recurrent.bias_hh_l0.detach().reshape(chunks, 4)
        assert torch.all(b_ih[1] == 3.0) and torch.all(b_hh[1] == 0.0)
        assert not torch.all(b_ih[0] == 3.0)  # ほかのゲートはそのまま


def test_short_training_lowers_the_loss() -> None:
    """数秒の学習で損失が下がり、短い遅れなら当て推量より正解する。"""
    run = train_long_lag(LagModel("gru"), lag=3, seed=0, config=NO_STOP)
    assert len(run.losses) == NO_STOP.steps and run.solved_step is None
    assert np.mean(run.losses[-10:]) < 0.5 * np.mean(run.losses[:10])
    assert run.accuracy > 0.9
    assert run.seconds > 0


def test_training_stops_once_solved() -> None:
    """確かめの正解率が stop_accuracy に達したら、その更新で止める。"""
    run = train_long_lag(LagModel("gru"), 3, 0, LagConfig(n_test=200))
    assert run.solved_step is not None and run.solved_step < 200
    assert run.solved_step % 10 == 0 and len(run.losses) == run.solved_step
    assert run.accuracy > 0.9


def test_unsolved_training_uses_every_step() -> None:
    """解けなければ最後まで学習し、solved_step は None。"""
    config = LagConfig(steps=20, n_test=50, n_check=50)
    run = train_long_lag(LagModel("lstm"), 40, 0, config)
    assert run.solved_step is None and len(run.losses) == 20


def test_stack_and_unstack_round_trip() -> None:
    """まとめたモデルの s 列目は s 番目の出力で、取り出すと元に戻る。"""
    for kind in ("rnn", "lstm", "gru"):
        config = ModelConfig(kind=kind, hidden_size=4)
        models = [RecurrentRegressor(config) for _ in range(3)]
        stacked = stack_models(models)
        x = torch.randn(5, 7, 3)  # 3 つのモデルの入力を並べたもの
        with torch.no_grad():
            out = stacked(x)  # (5, 3)
            for s, model in enumerate(models):
                torch.testing.assert_close(
                    out[:, s : s + 1], model(x[:, :, s : s + 1])
                )
                back = unstack_model(stacked, config, s, 3)
                for p, q in zip(back.parameters(), model.parameters()):
                    torch.testing.assert_close(p, q)
        masks = block_masks(config, 3)
        n_single = sum(p.numel() for p in models[0].parameters())
        assert sum(int(m.sum()) for m in masks.values()) == 3 * n_single


@pytest.mark.parametrize(
    "spec", [LagModel("rnn"), LagModel("lstm", 3.0), LagModel("gru")]
)
def test_stacked_training_equals_one_by_one(spec: LagModel) -> None:
    """まとめて学習しても、1 つずつ学習したのと丸め誤差の範囲で同じになる。"""
    config = LagConfig(steps=30, n_test=100, n_check=100)
    together = train_long_lag_seeds(spec, 4, [0, 1], config)
    for seed, run in zip([0, 1], together):
        alone = train_long_lag(spec, 4, seed, config)
        assert run.solved_step == alone.solved_step
        np.testing.assert_allclose(run.losses, alone.losses, atol=1e-5)
        assert run.accuracy == pytest.approx(alone.accuracy, abs=0.02)
        for p, q in zip(run.model.parameters(), alone.model.parameters()):
            torch.testing.assert_close(p, q, atol=1e-4, rtol=1e-4)


def test_stack_of_one_model_is_the_model_itself() -> None:
    """1 つだけまとめたモデルは元のモデルと同じ重み(マスクはすべて 1)。

    train_long_lag がシード 1 つの train_long_lag_seeds でよい理由。
    """
    for kind in ("rnn", "lstm", "gru"):
        config = ModelConfig(kind=kind, hidden_size=4)
        model = RecurrentRegressor(config)
        stacked = stack_models([model])
        assert stacked.config == config
        for (name, p), q in zip(
            stacked.named_parameters(), model.parameters()
        ):
            torch.testing.assert_close(p, q, atol=0, rtol=0)
            assert torch.all(block_masks(config, 1)[name] == 1)


def test_stacking_rejects_unsupported_models() -> None:
    """設定の違うモデルや 2 段のモデルは、まとめられない。"""
    small = RecurrentRegressor(ModelConfig(kind="rnn", hidden_size=4))
    other = RecurrentRegressor(ModelConfig(kind="rnn", hidden_size=5))
    with pytest.raises(ValueError, match="同じ設定"):
        stack_models([small, other])
    deep = RecurrentRegressor(
        ModelConfig(kind="rnn", hidden_size=4, num_layers=2)
    )
    with pytest.raises(ValueError, match="1 段"):
        stack_models([deep, deep])


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
    assert sweep.solved_step["RNN"].shape == (2, 2)
    assert set(sweep.models) == {("RNN", 2), ("RNN", 4)}
    table = {"m": np.array([[1.0, 0.95], [0.92, 0.5], [1.0, 1.0]])}
    fake = LagSweep([5, 10, 20], [0, 1], table, {}, 0.0)
    assert solved_counts(fake, "m") == [2, 1, 2]
    # 10 で 1 本失敗したので 5 まで
    assert longest_reliable_lag(fake, "m") == 5
    assert longest_reliable_lag(fake, "m", threshold=0.99) is None


def test_init_models_use_the_same_seed() -> None:
    """init_models は毎回同じシードから作る(同じ種類なら同じ重み)。"""
    models = init_models({"a": LagModel("rnn"), "b": LagModel("rnn")}, seed=5)
    for p, q in zip(models["a"].parameters(), models["b"].parameters()):
        torch.testing.assert_close(p, q)


def test_clipping_experiment_records_both_runs() -> None:
    """クリッピングありの更新量は lr × max_norm を超えない。"""
    result = clipping_experiment(
        lag=5, seeds=[0], lr=0.3, max_norm=1.0, steps=4, batch_size=16
    )
    traces = result.traces
    assert set(traces) == set(result.models) == {"plain", "clipped"}
    assert max(traces["clipped"][0].update_norm) <= 0.3 * (1 + 1e-4)
    assert traces["plain"][0].grad_norm[0] == pytest.approx(
        traces["clipped"][0].grad_norm[0]
    )
    assert result.x.shape == (16, 6, 1) and result.y.shape == (16, 1)


def test_stacked_clipping_equals_one_by_one() -> None:
    """まとめた SGD とクリッピングは、シードごとの sgd_update_norms と同じ。

    勾配が爆発する設定は初期値の丸め誤差にも敏感(カオス的)なので、
    ここでは W_hh を大きくしない(scale=1)設定で、クリッピングが効く
    小さな上限を使って比べる。
    """
    from medrnn.core.repro import set_seed
    from medrnn.theory.gradients import sgd_update_norms

    result = clipping_experiment(
        lag=5,
        seeds=[0, 1],
        lr=0.3,
        max_norm=0.05,
        steps=5,
        scale=1.0,
        batch_size=16,
    )
    for name, limit in (("plain", None), ("clipped", 0.05)):
        for i, seed in enumerate([0, 1]):
            set_seed(seed)
            model = build_lag_model(LagModel("rnn"), LagConfig())
            alone = sgd_update_norms(model, result.x, result.y, 5, 0.3, limit)
            together = result.traces[name][i]
            for key in ("loss", "grad_norm", "update_norm"):
                np.testing.assert_allclose(
                    getattr(together, key), getattr(alone, key), rtol=1e-4
                )
            for p, q in zip(
                result.models[name][i].parameters(), model.parameters()
            ):
                torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-4)


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
    with pytest.raises(ValueError, match="stop_accuracy"):
        LagConfig(stop_accuracy=0.5)
    with pytest.raises(ValueError, match="check_every"):
        LagConfig(check_every=0)
    with pytest.raises(ValueError, match="kind"):
        set_memory_gate_bias(
            build_lag_model(LagModel("rnn"), FAST), "rnn", 1.0
        )
    with pytest.raises(ValueError, match="lags"):
        lag_sweep({"RNN": LagModel("rnn")}, [], [0])


def test_plot_lag_accuracy_returns_figure() -> None:
    """遅れと正解率の図は Figure を返し、形の合わない表は ValueError。"""
    from matplotlib.figure import Figure

    from medrnn.core.plotting import plot_lag_accuracy

    table = {"RNN": np.array([[1.0, 0.9], [0.5, 0.6]])}
    assert isinstance(plot_lag_accuracy([5, 10], table), Figure)
    with pytest.raises(ValueError, match="形状"):
        plot_lag_accuracy([5, 10, 20], table)
