import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from medrnn.core import training
from medrnn.core.data import (
    RNN_SINE,
    make_noisy_sine,
    make_windows,
    split_ordered,
)
from medrnn.core.models.nets import RNN_MODEL, ModelConfig, RecurrentRegressor
from medrnn.core.repro import set_seed
from medrnn.core.training import (
    History,
    TrainConfig,
    epoch_order,
    evaluate_loss,
    fit,
    fit_early_stopping,
    fit_with_dataloader,
)


def _windows():
    _, y = make_noisy_sine(RNN_SINE)
    train, test = split_ordered(y, 0.8)
    return make_windows(train, 10), make_windows(test, 10)


def test_epoch_order_matches_dataloader_shuffling():
    X = torch.arange(37.0).reshape(37, 1, 1)
    loader = DataLoader(TensorDataset(X), batch_size=5, shuffle=True)
    set_seed(3)
    expected = [
        torch.cat([b[0][:, 0, 0] for b in loader]).long() for _ in range(3)
    ]
    set_seed(3)
    got = [epoch_order(37, shuffle=True) for _ in range(3)]
    for e, g in zip(expected, got):
        torch.testing.assert_close(g, e)
    torch.testing.assert_close(epoch_order(4, shuffle=False), torch.arange(4))


@pytest.mark.parametrize("drop_last", [False, True])
def test_fit_is_bit_identical_to_the_dataloader_loop(drop_last):
    (X, y), _ = _windows()
    config = TrainConfig(epochs=3, batch_size=16, drop_last=drop_last)
    set_seed(0)
    fast = RecurrentRegressor(RNN_MODEL)
    h_fast = fit(fast, X, y, config)
    set_seed(0)
    slow = RecurrentRegressor(RNN_MODEL)
    h_slow = fit_with_dataloader(slow, X, y, config)
    assert h_fast.train_loss == h_slow.train_loss
    for a, b in zip(fast.parameters(), slow.parameters()):
        assert torch.equal(a, b)


def test_training_smoke_loss_falls_and_is_deterministic():
    (X, y), (Xt, yt) = _windows()
    config = TrainConfig(epochs=15, batch_size=16, lr=1e-2)
    runs = []
    for _ in range(2):
        set_seed(1)
        model = RecurrentRegressor(ModelConfig(kind="gru", hidden_size=8))
        runs.append(fit(model, X, y, config, val=(Xt, yt)))
    h = runs[0]
    assert h.train_loss[-1] < 0.5 * h.train_loss[0]
    assert len(h.val_loss) == 15 and len(h.seconds) == 15
    assert h.seconds == sorted(h.seconds)
    assert runs[0].train_loss == runs[1].train_loss
    assert 1 <= h.best_epoch <= 15
    assert evaluate_loss(model, Xt, yt) == pytest.approx(runs[1].val_loss[-1])


def test_drop_last_skips_the_incomplete_batch(monkeypatch):
    (X, y), _ = _windows()  # 150 窓 = 16 × 9 + 6
    model = RecurrentRegressor(RNN_MODEL)
    calls = []
    original = training.train_step
    monkeypatch.setattr(
        training,
        "train_step",
        lambda *a, **k: calls.append(len(a[2])) or original(*a, **k),
    )
    fit(model, X, y, TrainConfig(epochs=1, batch_size=16, drop_last=True))
    assert calls == [16] * 9


def test_best_epoch_needs_validation_losses():
    with pytest.raises(ValueError, match="検証"):
        _ = History(train_loss=[1.0]).best_epoch


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"lr": 0.0}, "lr"),
    ],
)
def test_train_config_rejects_bad_values(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        TrainConfig(**kwargs)


def test_fit_rejects_mismatched_shapes():
    model = RecurrentRegressor(RNN_MODEL)
    with pytest.raises(ValueError, match="X は形状"):
        fit(
            model, torch.zeros(5, 10), torch.zeros(5, 1), TrainConfig(epochs=1)
        )
    with pytest.raises(ValueError, match="y は形状"):
        fit(
            model,
            torch.zeros(5, 10, 1),
            torch.zeros(4, 1),
            TrainConfig(epochs=1),
        )
    with pytest.raises(ValueError, match="空"):
        fit(
            model,
            torch.zeros(0, 10, 1),
            torch.zeros(0, 1),
            TrainConfig(epochs=1),
        )


def test_early_stopping_stops_and_restores_the_best_weights():
    (X, y), (Xv, yv) = _windows()
    set_seed(0)
    model = RecurrentRegressor(RNN_MODEL)
    config = TrainConfig(epochs=300, batch_size=16, lr=1e-2)
    h = fit_early_stopping(model, X, y, config, val=(Xv, yv), patience=5)
    assert len(h.val_loss) < 300  # 途中で止まった
    assert len(h.val_loss) - h.best_epoch == 5
    assert evaluate_loss(model, Xv, yv) == pytest.approx(min(h.val_loss))
    with pytest.raises(ValueError, match="patience"):
        fit_early_stopping(model, X, y, config, val=(Xv, yv), patience=0)


def test_clear_grads_matches_optimizer_zero_grad():
    (X, y), _ = _windows()
    model = RecurrentRegressor(RNN_MODEL)
    optimizer = training.make_optimizer(model, TrainConfig(epochs=1))
    nn.functional.mse_loss(model(X[:8]), y[:8]).backward()
    assert all(p.grad is not None for p in model.parameters())
    training.clear_grads(optimizer)
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize(
    "n, bs, drop_last, expected",
    [
        (10, 4, False, [4, 4, 2]),
        (10, 4, True, [4, 4]),
        (8, 4, False, [4, 4]),
        (3, 4, False, [3]),
    ],
)
def test_batch_sizes_follow_dataloader(n, bs, drop_last, expected):
    sizes = training.batch_sizes(n, bs, drop_last)
    assert sizes.tolist() == expected
    loader = DataLoader(
        TensorDataset(torch.zeros(n)), batch_size=bs, drop_last=drop_last
    )
    assert [len(b[0]) for b in loader] == expected


def test_epoch_mean_weights_by_batch_size():
    losses = [torch.tensor(1.0), torch.tensor(4.0)]
    assert (
        training.epoch_mean(
            losses, torch.tensor([3.0, 1.0], dtype=torch.float64)
        )
        == 1.75
    )


def test_fit_uses_the_given_loss_function():
    """同じ学習ループが回帰(MSE)以外の損失でも学習する(分類の交差
    エントロピーなど)。損失が loss_fn の値として記録される。
    """
    from torch import nn

    from medrnn.core.training import TrainConfig, evaluate_loss, fit

    torch.manual_seed(0)
    X = torch.randn(64, 4, 1)
    y = (X.sum(dim=(1, 2)) > 0).float().unsqueeze(1)  # (64, 1) の 0/1
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 1))
    bce = nn.functional.binary_cross_entropy_with_logits
    before = evaluate_loss(model, X, y, loss_fn=bce)
    history = fit(
        model,
        X,
        y,
        TrainConfig(epochs=30, batch_size=16, lr=0.05),
        val=(X, y),
        loss_fn=bce,
    )
    assert history.val_loss[-1] == evaluate_loss(model, X, y, loss_fn=bce)
    assert history.val_loss[-1] < 0.5 * before
    assert evaluate_loss(model, X, y) != history.val_loss[-1]  # 既定は MSE


def test_early_stopping_with_non_finite_validation_loss_says_so():
    from torch import nn

    from medrnn.core.training import TrainConfig, fit_early_stopping

    X, y = torch.randn(8, 3, 1), torch.randn(8, 1)
    val = (torch.full((4, 3, 1), float("nan")), torch.zeros(4, 1))
    model = nn.Sequential(nn.Flatten(), nn.Linear(3, 1))
    with pytest.raises(ValueError, match="有限"):
        fit_early_stopping(
            model, X, y, TrainConfig(epochs=3, batch_size=4), val, patience=2
        )


# ---- 本書のモデルをすべて学習する train_and_predict ----


@pytest.mark.parametrize("patience", [None, 2])
def test_train_and_predict_equals_seeding_and_fitting_by_hand(patience):
    from medrnn.core.evaluation import predict
    from medrnn.core.models.nets import ModelConfig, RecurrentRegressor
    from medrnn.core.repro import set_seed
    from medrnn.core.training import (
        TrainConfig,
        fit,
        fit_early_stopping,
        train_and_predict,
    )

    g = torch.Generator().manual_seed(0)
    X = {
        k: torch.randn(n, 6, 2, generator=g)
        for k, n in (("train", 40), ("val", 12), ("test", 9))
    }
    y = {k: x[:, -1, :1] * 0.5 for k, x in X.items()}
    config = TrainConfig(epochs=4, batch_size=8, lr=0.01)

    def make():
        return RecurrentRegressor(
            ModelConfig("gru", input_size=2, hidden_size=5)
        )

    run = train_and_predict(
        make,
        X,
        y,
        seed=3,
        config=config,
        patience=patience,
        predict_on=("val", "test"),
        device=torch.device("cpu"),
    )
    set_seed(3)
    model = make()
    if patience is None:
        history = fit(model, X["train"], y["train"], config)
    else:
        history = fit_early_stopping(
            model,
            X["train"],
            y["train"],
            config,
            val=(X["val"], y["val"]),
            patience=patience,
        )
    assert run.history.train_loss == history.train_loss
    assert set(run.pred) == {"val", "test"}
    np.testing.assert_array_equal(run.pred["test"], predict(model, X["test"]))
    assert run.pred["test"].shape == (9,)
    assert not run.model.training and run.seconds > 0
    assert next(run.model.parameters()).device.type == "cpu"


def test_train_step_sums_a_loss_per_model_and_calls_before_step():
    from medrnn.core.training import train_step

    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    seen = []

    def per_column(pred, target):
        return ((pred - target) ** 2).mean(dim=0)  # (2,)

    loss = train_step(
        model,
        opt,
        torch.ones(4, 3),
        torch.zeros(4, 2),
        loss_fn=per_column,
        before_step=lambda m: seen.append(m.weight.grad.clone()),
    )
    assert loss.shape == (2,)
    assert len(seen) == 1 and torch.all(seen[0].abs().sum(dim=1) > 0)


def test_mean_std_text():
    from medrnn.core.evaluation import mean_std_text

    assert mean_std_text([1.0, 3.0]) == "2.0 ± 1.4"
    assert mean_std_text([2.0], digits=2) == "2.00"
    with pytest.raises(ValueError):
        mean_std_text([])
