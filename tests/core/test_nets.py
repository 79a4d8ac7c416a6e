import pytest
import torch

from medrnn.core.models.nets import (
    LSTM_MODEL,
    RNN_MODEL,
    ModelConfig,
    RecurrentRegressor,
    count_parameters,
)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_output_shape(kind, num_layers):
    model = RecurrentRegressor(
        ModelConfig(kind=kind, hidden_size=8, num_layers=num_layers)
    )
    assert model(torch.randn(5, 10, 1)).shape == (5, 1)


def test_head_reads_the_last_time_step_of_the_recurrent_output():
    model = RecurrentRegressor(RNN_MODEL)
    x = torch.randn(4, 10, 1)
    output, h_n = model.recurrent(x)
    torch.testing.assert_close(model(x), model.head(h_n[-1]))


def test_parameter_counts_match_the_formulas():
    # nn.RNN: W_xh (H×I) + W_hh (H×H) + 2 バイアス; 線形層: H + 1
    rnn = RecurrentRegressor(RNN_MODEL)
    assert count_parameters(rnn) == 32 * 1 + 32 * 32 + 2 * 32 + 32 + 1
    # nn.LSTM: ゲート 4 つ分。2 層目の入力は 50
    lstm = RecurrentRegressor(LSTM_MODEL)
    layer1 = 4 * (50 * 1 + 50 * 50 + 2 * 50)
    layer2 = 4 * (50 * 50 + 50 * 50 + 2 * 50)
    assert count_parameters(lstm) == layer1 + layer2 + 50 + 1


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        ({"kind": "transformer"}, "kind"),
        ({"hidden_size": 0}, "hidden_size"),
        ({"num_layers": 0}, "num_layers"),
        ({"dropout": 1.0}, "dropout"),
    ],
)
def test_config_rejects_bad_values(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        ModelConfig(**kwargs)


@pytest.mark.parametrize("shape", [(10, 1), (4, 10, 3), (4, 10)])
def test_forward_rejects_wrong_input_shape(shape):
    model = RecurrentRegressor(RNN_MODEL)
    with pytest.raises(ValueError, match="形状"):
        model(torch.randn(*shape))
