"""medrnn.vitals.plots: 図が Figure を返し、警告なしで描け、
軸に単位があること。
"""

import numpy as np
import pytest
from helpers import assert_figure_with_units

from medrnn.core.plotting import setup_japanese_font
from medrnn.vitals import plots as vitals_plots


@pytest.fixture(autouse=True)
def _font():
    setup_japanese_font()


T = np.arange(0, 20, 0.5)
MASK = np.arange(len(T)) % 3 == 0


@pytest.mark.parametrize(
    "make, units",
    [
        (
            lambda: vitals_plots.plot_raw_channels(
                T, {"心電図 [mV]": np.sin(T), "EDA [μS]": T}, 2, 10
            ),
            ("[s]", "[mV]", "[μS]"),
        ),
        (
            lambda: vitals_plots.plot_derived_series(
                T,
                np.column_stack([T, T, T]),
                ["心拍数 [bpm]", "呼吸 [任意単位]", "EDA [μS]"],
                {"train": (0, 10), "val": (10, 15), "test": (15, 20)},
            ),
            ("[s]", "[bpm]"),
        ),
        (
            lambda: vitals_plots.plot_grid_observations(
                T, {"LOCF": T, "補間": T + 1}, T[MASK], T[MASK], MASK, T % 1.5
            ),
            ("[s]", "[bpm]"),
        ),
        (
            lambda: vitals_plots.plot_sweep(
                [0.25, 0.5],
                {
                    "LSTM": {
                        "LOCF": np.ones((2, 3)),
                        "平均": np.ones((2, 3)) * 2,
                    }
                },
                {"LSTM": 1.5},
            ),
            ("[%]", "[bpm]"),
        ),
    ],
)
def test_figures_render_with_units(make, units):
    assert_figure_with_units(make(), units)
