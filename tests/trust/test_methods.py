"""medrnn.trust のテスト: コンフォーマル予測・較正・帰属・部分集団・図。"""

import numpy as np
import pytest
import torch
from helpers import axis_labels, render_strict
from matplotlib.figure import Figure
from torch import nn

from medrnn.core.models.nets import ModelConfig, RecurrentRegressor
from medrnn.core.plotting import setup_japanese_font
from medrnn.trust import calibration as cal
from medrnn.trust import conformal as conf
from medrnn.trust import explain as ex
from medrnn.trust import plots
from medrnn.trust import subgroups as sub

# --- コンフォーマル予測 --------------------------------------------------


def test_conformal_quantile_is_the_kth_smallest_score():
    scores = np.arange(1.0, 20.0)  # n = 19
    # k = ceil(20 * 0.9) = 18 番目 → 18
    assert conf.conformal_quantile(scores, 0.1) == 18.0
    shuffled = np.random.default_rng(0).permutation(scores)
    assert conf.conformal_quantile(shuffled, 0.1) == 18.0


def test_conformal_quantile_per_column_and_too_few_scores():
    scores = np.column_stack([np.arange(1.0, 20.0), 2 * np.arange(1.0, 20.0)])
    np.testing.assert_array_equal(
        conf.conformal_quantile(scores, 0.1), [18.0, 36.0]
    )
    # n = 5 で α = 0.1 なら k = 6 > n: 区間は全体
    assert np.isinf(conf.conformal_quantile(np.ones(5), 0.1))


def test_split_conformal_covers_exchangeable_data_on_average():
    """交換可能な(同じ分布の)データなら、被覆率は平均して 1 − α 以上。"""
    rng = np.random.default_rng(1)
    rates = []
    for _ in range(200):
        cal_err, test_err = rng.normal(size=(50, 1)), rng.normal(size=(50, 1))
        lower, upper = conf.split_conformal(
            np.zeros((50, 1)), cal_err, np.zeros((50, 1)), 0.1
        )
        rates.append(conf.covered(test_err, lower, upper).mean())
    assert np.mean(rates) >= 0.9 - 0.01  # 理論は 0.9 以上(平均の揺れを許す)


@pytest.mark.parametrize("alpha", [0.0, 1.0, np.nan])
def test_conformal_rejects_bad_alpha(alpha):
    with pytest.raises(ValueError, match="alpha"):
        conf.conformal_quantile(np.ones(10), alpha)


def test_conformal_rejects_nan_scores():
    with pytest.raises(ValueError, match="有限"):
        conf.conformal_quantile(np.array([1.0, np.nan]), 0.1)


def test_ensemble_interval_is_mean_plus_minus_z_sd():
    members = np.array([[1.0], [3.0]])  # 平均 2、標準偏差 √2
    lower, upper = conf.ensemble_interval(members, 0.1)
    z = 1.6448536269514722
    np.testing.assert_allclose(upper - 2.0, z * np.sqrt(2.0))
    np.testing.assert_allclose(2.0 - lower, z * np.sqrt(2.0))
    with pytest.raises(ValueError, match="n_members"):
        conf.ensemble_interval(np.ones((1, 3)), 0.1)


def test_covered_checks_shapes():
    hit = conf.covered(np.array([1.0, 5.0]), np.zeros(2), np.full(2, 2.0))
    np.testing.assert_array_equal(hit, [True, False])
    with pytest.raises(ValueError, match="同じ形状"):
        conf.covered(np.ones(2), np.zeros(3), np.ones(3))


def test_miss_vs_nominal_gives_coverage_with_patient_interval():
    patients = np.repeat(["a", "b", "c", "d"], 50)
    hit = np.ones(200, dtype=bool)
    hit[:20] = False  # 患者 a だけ 20 窓外れる → 外れ 10%
    c = conf.miss_vs_nominal(hit, patients, 0.1, n_boot=500)
    cov, low, high = conf.coverage_from(c, 0.1)
    assert cov == pytest.approx(0.9)
    assert low <= cov <= high
    assert c.n == 4


# --- 較正 ----------------------------------------------------------------


def test_ece_is_zero_when_bins_match_and_known_value_otherwise():
    prob = np.array([0.1] * 10 + [0.9] * 10)
    labels = np.array([1] + [0] * 9 + [1] * 9 + [0])
    assert cal.expected_calibration_error(prob, labels, 5) == pytest.approx(0)
    # 全部 0.9 と言って半分だけ異常 → ずれ 0.4
    assert cal.expected_calibration_error(
        np.full(10, 0.9), np.array([0, 1] * 5), 5
    ) == pytest.approx(0.4)


def test_reliability_bins_counts_and_empty_bins():
    mean_prob, frac, count = cal.reliability_bins(
        np.array([0.05, 0.15, 1.0]), np.array([0, 0, 1]), 5
    )
    np.testing.assert_array_equal(count, [2, 0, 0, 0, 1])
    assert np.isnan(mean_prob[1]) and frac[4] == 1.0


@pytest.mark.parametrize(
    "prob, labels",
    [([0.5, 1.2], [0, 1]), ([0.5, 0.5], [0, 2]), ([0.5], [0, 1])],
)
def test_calibration_rejects_bad_input(prob, labels):
    with pytest.raises(ValueError):
        cal.expected_calibration_error(np.array(prob), np.array(labels))


def test_fit_temperature_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2, 4000)
    labels = rng.random(4000) < cal.sigmoid(true_logits)
    t = cal.fit_temperature(3.0 * true_logits, labels)  # 3 倍に自信過剰
    assert t == pytest.approx(3.0, rel=0.15)
    z = 3.0 * true_logits
    assert cal.nll(z / t, labels) <= cal.nll(z, labels)


def test_sigmoid_is_stable_for_large_logits():
    p = cal.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_allclose(p, [0.0, 0.5, 1.0])


# --- 帰属と健全性の検査 --------------------------------------------------


class _Linear(nn.Module):
    """y = Σ w_t x_t(帰属の答えが分かるモデル)。"""

    def __init__(self, w):
        super().__init__()
        self.w = torch.tensor(w, dtype=torch.float32)

    def forward(self, x):
        return (x[..., 0] * self.w).sum(dim=1, keepdim=True)


def test_integrated_gradients_of_a_linear_model_is_w_times_input():
    w = [0.0, 1.0, -2.0, 3.0]
    x = torch.tensor([[[1.0], [2.0], [3.0], [4.0]]])
    a = ex.attribute(_Linear(w), x, "統合勾配", torch.zeros(4, 1))
    np.testing.assert_allclose(a[0, :, 0], np.array(w) * [1, 2, 3, 4], 1e-5)


def test_occlusion_and_gradient_shap_run_on_a_recurrent_model():
    model = RecurrentRegressor(ModelConfig(kind="gru", hidden_size=4))
    x = torch.randn(3, 6, 1)
    for method in ex.METHODS:
        a = ex.attribute(model, x, method, torch.zeros(6, 1), 0, x)
        assert a.shape == (3, 6, 1) and np.all(np.isfinite(a))


def test_attribute_rejects_bad_input():
    model = _Linear([1.0, 1.0])
    with pytest.raises(ValueError, match="形状"):
        ex.attribute(model, torch.zeros(2, 1), "統合勾配", torch.zeros(2, 1))
    with pytest.raises(ValueError, match="NaN"):
        ex.attribute(
            model,
            torch.full((1, 2, 1), float("nan")),
            "統合勾配",
            torch.zeros(2, 1),
        )
    with pytest.raises(ValueError, match="references"):
        ex.attribute(
            model, torch.zeros(1, 2, 1), "GradientSHAP", torch.zeros(2, 1)
        )


def test_randomized_copy_changes_only_the_named_layers():
    model = RecurrentRegressor(ModelConfig(kind="gru", hidden_size=4))
    twin = ex.randomized_copy(model, ["head"], seed=1)
    assert not torch.equal(twin.head.weight, model.head.weight)
    for p, q in zip(model.recurrent.parameters(), twin.recurrent.parameters()):
        assert torch.equal(p, q)


def test_cascading_randomization_flags_a_model_insensitive_method():
    """モデルによらない「説明」(入力そのもの)は、壊しても相関 1 のまま。"""
    model = RecurrentRegressor(ModelConfig(kind="gru", hidden_size=4))
    x = torch.randn(5, 6, 1)
    sims = ex.cascading_randomization(model, lambda m: x.numpy())
    assert list(sims) == ["head", "head+recurrent"]
    for v in sims.values():
        np.testing.assert_allclose(v, 1.0)


def test_rank_similarity_and_mass_inside():
    a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    np.testing.assert_allclose(ex.rank_similarity(a, a), [1.0, 1.0])
    np.testing.assert_allclose(ex.rank_similarity(a, a[::-1]), [-1.0, -1.0])
    inside = ex.mass_inside(a, np.array([True, False, False]))
    np.testing.assert_allclose(inside, [1 / 6, 3 / 6])
    with pytest.raises(ValueError):
        ex.rank_similarity(a, a[:1])
    with pytest.raises(ValueError):
        ex.mass_inside(a, np.array([True]))


# --- 部分集団 ------------------------------------------------------------


def test_glucose_ranges_split_every_value_once():
    masks = sub.glucose_ranges(np.array([50.0, 70.0, 180.0, 181.0]))
    stacked = np.stack(list(masks.values()))
    np.testing.assert_array_equal(stacked.sum(axis=0), 1)
    np.testing.assert_array_equal(stacked[:, 0], [True, False, False])


def test_compare_in_subgroups_skips_groups_with_few_patients():
    rng = np.random.default_rng(0)
    patients = np.repeat(["a", "b", "c", "d"], 30)
    ea, eb = rng.normal(size=120), 2 * rng.normal(size=120)
    masks = {"全員": np.ones(120, bool), "2 人": np.isin(patients, ["a", "b"])}
    out = sub.compare_in_subgroups(ea, eb, patients, masks, ("A", "B"))
    assert out["全員"].n_patients == 4 and out["全員"].comparison is not None
    assert out["2 人"].n_windows == 60 and out["2 人"].comparison is None


def test_input_volatility():
    X = np.array([[0.0, 1.0, 2.0, 3.0], [0.0, 2.0, 0.0, 2.0]])
    np.testing.assert_allclose(
        sub.input_volatility(X), [0.0, np.std([2.0, -2.0, 2.0])]
    )
    with pytest.raises(ValueError):
        sub.input_volatility(np.ones(3))


# --- 図 ------------------------------------------------------------------


@pytest.fixture
def _font():
    setup_japanese_font()


T = np.arange(6.0)


@pytest.mark.parametrize(
    "make, units",
    [
        (
            lambda: plots.plot_attribution(
                T,
                T,
                {"統合勾配": T, "遮蔽": -T},
                ("時刻 [分]", "血糖値 [mg/dL]", "帰属 [mg/dL]"),
                shade=(1.0, 2.0),
            ),
            ("[分]", "[mg/dL]"),
        ),
        (
            lambda: plots.plot_randomization(
                {"統合勾配": {"head": 0.8, "head+recurrent": 0.3}}, 0.5
            ),
            ("順位相関",),
        ),
        (
            lambda: plots.plot_intervals(
                5 * T, 100 + T, 100 + T, {"区間": (90 + T, 110 + T)}
            ),
            ("[分]", "[mg/dL]"),
        ),
        (
            lambda: plots.plot_reliability(
                {"前": (np.array([0.1, np.nan]), np.array([0.2, np.nan]))}
            ),
            ("確率", "割合"),
        ),
    ],
)
def test_plots_render_with_units(_font, make, units):
    fig = make()
    assert isinstance(fig, Figure)
    render_strict(fig)
    for unit in units:
        assert unit in axis_labels(fig)


def test_plot_attribution_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="同じ長さ"):
        plots.plot_attribution(T, T[:3], {"a": T}, ("x", "y", "z"))
