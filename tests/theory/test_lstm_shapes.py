"""medrnn.theory.lstm_shapes のテスト。

形状、output と h_n の関係、パラメータ数、式との一致。
"""

import pytest
import torch
from helpers import render_strict
from torch import nn

from medrnn.core.notebook import rows_to_markdown
from medrnn.theory.lstm_shapes import (
    LSTMShapeCase,
    expected_parameter_count,
    last_step_gaps,
    parameter_rows,
    relation_rows,
    run_lstm,
    shape_rows,
)

B, T, I, H = 3, 5, 2, 4  # 小さな設定で速く


def small(num_layers: int = 1, bidirectional: bool = False) -> LSTMShapeCase:
    return LSTMShapeCase(
        input_size=I,
        hidden_size=H,
        num_layers=num_layers,
        bidirectional=bidirectional,
        batch_size=B,
        seq_len=T,
    )


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_output_and_state_shapes(num_layers, bidirectional):
    run = run_lstm(small(num_layers, bidirectional))
    D = 2 if bidirectional else 1
    assert run.x.shape == (B, T, I)
    assert run.output.shape == (B, T, D * H)
    assert run.h_n.shape == (num_layers * D, B, H)
    assert run.c_n.shape == (num_layers * D, B, H)


def test_shape_rows_match_run():
    cases = [small(n, b) for b in (False, True) for n in (1, 2)]
    rows = shape_rows(cases)
    assert len(rows) == 4
    assert rows[3] == {
        "num_layers": "2",
        "bidirectional": "True",
        "input": str((B, T, I)),
        "output": str((B, T, 2 * H)),
        "h_n": str((4, B, H)),
        "c_n": str((4, B, H)),
    }


@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_unidirectional_last_output_is_last_layer_h_n(num_layers):
    run = run_lstm(small(num_layers))
    torch.testing.assert_close(run.output[:, -1], run.h_n[-1])
    assert list(last_step_gaps(run).values()) == [0.0]


@pytest.mark.parametrize("num_layers", [1, 2])
def test_bidirectional_backward_half_ends_at_t0(num_layers):
    run = run_lstm(small(num_layers, bidirectional=True))
    forward, backward = run.h_n[-2], run.h_n[-1]  # 最終層の順・逆
    torch.testing.assert_close(run.output[:, -1, :H], forward)
    torch.testing.assert_close(run.output[:, 0, H:], backward)
    # 逆方向の最後の状態は t=0 にあり、output[:, -1] の後半とは違う
    assert (run.output[:, -1, H:] - backward).abs().max() > 1e-3
    gaps = list(last_step_gaps(run).values())
    assert gaps[0] == 0.0 and gaps[1] > 1e-3 and gaps[2] == 0.0


def test_relation_rows_flags_only_the_backward_mismatch():
    rows = relation_rows([small(1), small(2, bidirectional=True)])
    assert [r["一致"] for r in rows] == ["はい", "はい", "いいえ", "はい"]
    assert rows[2]["bidirectional"] == "True"


@pytest.mark.parametrize(
    "input_size,hidden_size,num_layers,bidirectional",
    [
        (1, 50, 1, False),
        (1, 50, 2, False),
        (1, 50, 2, True),
        (4, 16, 3, True),
        (7, 3, 1, True),
    ],
)
def test_parameter_count_formula(
    input_size, hidden_size, num_layers, bidirectional
):
    lstm = nn.LSTM(
        input_size, hidden_size, num_layers, bidirectional=bidirectional
    )
    counted = sum(p.numel() for p in lstm.parameters())
    assert (
        expected_parameter_count(
            input_size, hidden_size, num_layers, bidirectional
        )
        == counted
    )
    if num_layers == 1 and not bidirectional:
        H_, I_ = hidden_size, input_size
        assert counted == 4 * (H_ * (I_ + H_) + 2 * H_)


def test_chapter_lstm_has_31000_parameters():
    # 本章のモデル: 入力 1、隠れ 50、2 層、単方向
    assert expected_parameter_count(1, 50, 2) == 10600 + 20400


def test_parameter_rows_lists_weights_with_4h_rows():
    rows = parameter_rows(run_lstm(small(2)).lstm)
    names = [r["名前"] for r in rows]
    assert names[:4] == [
        "weight_ih_l0",
        "weight_hh_l0",
        "bias_ih_l0",
        "bias_hh_l0",
    ]
    assert rows[0]["形状"] == str((4 * H, I))
    assert rows[4]["形状"] == str((4 * H, H))  # 2 層目の入力は下の層の h
    assert sum(int(r["要素数"]) for r in rows) == expected_parameter_count(
        I, H, 2
    )


def test_run_lstm_is_deterministic_and_keeps_global_rng():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a, b = run_lstm(small(), seed=7), run_lstm(small(), seed=7)
    assert torch.equal(a.output, b.output)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_rows_to_markdown():
    text = rows_to_markdown([{"a": "1", "b": "2"}, {"a": "3", "b": "4"}])
    assert text.splitlines() == [
        "| a | b |",
        "|---|---|",
        "| 1 | 2 |",
        "| 3 | 4 |",
    ]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"hidden_size": 0},
        {"num_layers": -1},
        {"input_size": 1.5},
        {"batch_size": True},
        {"seq_len": 0},
        {"bidirectional": 1},
    ],
)
def test_bad_case_raises(kwargs):
    with pytest.raises(ValueError, match="にしてください"):
        LSTMShapeCase(**kwargs)


def test_bad_inputs_raise_value_error():
    with pytest.raises(ValueError, match="hidden_size"):
        expected_parameter_count(1, 0)
    with pytest.raises(ValueError, match="cases が空"):
        shape_rows([])
    with pytest.raises(ValueError, match="cases が空"):
        relation_rows([])
    with pytest.raises(ValueError, match="nn.LSTM"):
        parameter_rows(nn.GRU(1, 2))
    with pytest.raises(ValueError, match="rows が空"):
        rows_to_markdown([])
    with pytest.raises(ValueError, match="同じキー"):
        rows_to_markdown([{"a": "1"}, {"b": "2"}])


# --- LSTM の章で plotting.py に足した図(plot_lstm_cell など)のテスト ---

_render_strict = render_strict


@pytest.fixture
def japanese_font():
    from medrnn.core.plotting import setup_japanese_font

    setup_japanese_font()


def test_plot_lstm_cell_renders(japanese_font):
    from matplotlib.figure import Figure

    from medrnn.core.plotting import plot_lstm_cell

    fig = plot_lstm_cell()
    assert isinstance(fig, Figure)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    for word in ("忘却ゲート", "入力ゲート", "出力ゲート", "セル状態"):
        assert word in texts
    _render_strict(fig)


def test_plot_gradient_descent_renders_and_checks_shapes(japanese_font):
    import numpy as np

    from medrnn.core.plotting import plot_gradient_descent

    w = np.linspace(-2, 4, 50)
    w_k = 1 + 0.5 ** np.arange(5) * -3
    fig = plot_gradient_descent(
        w, (w - 1) ** 2, {"η = 0.25": (w_k, (w_k - 1) ** 2)}
    )
    assert fig.axes[0].get_xlabel() == "パラメータ w"
    assert len(fig.axes[0].lines) == 2
    _render_strict(fig)
    with pytest.raises(ValueError, match="形状"):
        plot_gradient_descent(w, w[:-1], {})


def test_plot_standardization_renders_and_checks_shapes(japanese_font):
    import numpy as np

    from medrnn.core.data import Standardizer, make_vitals_example
    from medrnn.core.plotting import plot_standardization

    values, names = make_vitals_example(24, seed=0)
    scaled = Standardizer.fit(values[:18]).transform(values)
    fig = plot_standardization(np.arange(24), values, scaled, names, 18)
    assert len(fig.axes) == 2
    assert "[bpm]" in fig.axes[0].get_legend().get_texts()[0].get_text()
    _render_strict(fig)
    with pytest.raises(ValueError, match="形状"):
        plot_standardization(np.arange(24), values, scaled[:, :1], names, 18)
    with pytest.raises(ValueError, match="n_train"):
        plot_standardization(np.arange(24), values, scaled, names, 24)
