import numpy as np
import pytest
import torch

from medrnn.core.evaluation import (
    LinearAR,
    mean_std,
    mse,
    persistence_forecast,
    predict,
    rmse,
    window_mean_forecast,
)
from medrnn.core.models.nets import RNN_MODEL, RecurrentRegressor


def test_metrics():
    assert mse([1.0, 2.0], [1.0, 4.0]) == pytest.approx(2.0)
    assert rmse([1.0, 2.0], [1.0, 4.0]) == pytest.approx(np.sqrt(2.0))
    with pytest.raises(ValueError, match="形状"):
        mse([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="空"):
        mse([], [])


def test_simple_forecasts():
    X = torch.tensor([[[1.0], [2.0], [6.0]]])
    assert persistence_forecast(X).tolist() == [6.0]
    assert window_mean_forecast(X).tolist() == [3.0]


def test_linear_ar_recovers_a_known_recursion():
    rng = np.random.default_rng(0)
    X = torch.tensor(rng.normal(size=(200, 3, 1)))
    y = 0.5 * X[:, 0] - 2.0 * X[:, 2] + 0.3
    ar = LinearAR.fit(X, y)
    np.testing.assert_allclose(ar.coef, [0.5, 0.0, -2.0], atol=1e-10)
    assert ar.intercept == pytest.approx(0.3)
    np.testing.assert_allclose(ar.predict(X), y[:, 0].numpy(), atol=1e-10)
    with pytest.raises(ValueError, match="窓の数"):
        LinearAR.fit(X[:2], y[:2])


def test_predict_is_one_batch_and_matches_the_model():
    model = RecurrentRegressor(RNN_MODEL)
    X = torch.randn(7, 10, 1)
    pred = predict(model, X)
    assert pred.shape == (7,)
    with torch.no_grad():
        np.testing.assert_allclose(pred, model(X)[:, 0].numpy())
    assert not model.training


def test_mean_std():
    assert mean_std([1.0, 3.0]) == pytest.approx((2.0, np.sqrt(2.0)))
    with pytest.raises(ValueError, match="2 つ以上"):
        mean_std([1.0])


def test_predict_keeps_several_outputs_and_flattens_one():
    import torch

    from medrnn.core.evaluation import predict
    from medrnn.core.models.nets import ModelConfig, RecurrentRegressor

    X = torch.randn(7, 5, 1)
    many = RecurrentRegressor(ModelConfig("gru", hidden_size=4, output_size=3))
    one = RecurrentRegressor(ModelConfig("gru", hidden_size=4))
    assert predict(many, X).shape == (7, 3)
    assert predict(one, X).shape == (7,)
    with torch.no_grad():
        np.testing.assert_array_equal(predict(many, X), many(X).numpy())
