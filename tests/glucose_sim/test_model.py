"""glucose_sim(UVA/Padova モデルの本書版)のテスト。

いちばん大事なのは、simglucose 自身の T1DPatient と同じ血糖の軌跡になること。
simglucose の __init__ は gym を、各モジュールは pkg_resources を
import するので、テストの中だけ、その 2 つを小さな代役(スタブ)で
置き換えて読み込む。
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types

import numpy as np
import pytest

from medrnn.glucose_sim import model as gs

HAS_SIMGLUCOSE = importlib.util.find_spec("simglucose") is not None
needs_simglucose = pytest.mark.skipif(
    not HAS_SIMGLUCOSE, reason="simglucose がありません: " + gs.INSTALL_HINT
)

N_MIN = 240  # 比べる長さ [min](4 時間)
MEAL_AT, MEAL_G = 30, 60.0  # 30 分目に 60 g の食事


def _scenario(patient: gs.VirtualPatient) -> tuple[np.ndarray, np.ndarray]:
    """1 回の食事と、基礎インスリン + 食事時のボーラス(1 分で注入)。"""
    meals = np.zeros(N_MIN)
    meals[MEAL_AT] = MEAL_G
    insulin = np.full(N_MIN, patient.basal_rate)
    insulin[MEAL_AT] += MEAL_G / patient.carb_ratio  # [U] を 1 分で
    return meals, insulin


def _simglucose_patient_class() -> type:
    """gym と pkg_resources の代役を入れてから
    simglucose の T1DPatient を読む。
    """
    pytest.importorskip("pandas")  # simglucose が使う(このテストだけ)
    folder = str(gs.simglucose_dir())
    gym = types.ModuleType("gym")
    envs = types.ModuleType("gym.envs")
    registration = types.ModuleType("gym.envs.registration")
    registration.register = lambda *args, **kwargs: None  # 何もしない
    gym.envs, envs.registration = envs, registration
    pkg_resources = types.ModuleType("pkg_resources")
    pkg_resources.resource_filename = lambda package, path: os.path.join(
        folder, path
    )
    stubs = {
        "gym": gym,
        "gym.envs": envs,
        "gym.envs.registration": registration,
        "pkg_resources": pkg_resources,
    }
    for name, module in stubs.items():
        sys.modules.setdefault(name, module)
    from simglucose.patient.t1dpatient import Action, T1DPatient

    return T1DPatient, Action


def _simglucose_trajectory(name: str) -> np.ndarray:
    """simglucose の T1DPatient で同じシナリオを
    1 分ずつ進めた血糖 [mg/dL]。
    """
    T1DPatient, Action = _simglucose_patient_class()
    reference = T1DPatient.withName(name)
    meals, insulin = _scenario(gs.load_patient(name))
    glucose = [reference.observation.Gsub]
    for cho, ins in zip(meals, insulin):
        reference.step(Action(CHO=cho, insulin=ins))
        glucose.append(reference.observation.Gsub)
    return np.asarray(glucose, dtype=np.float64)


@needs_simglucose
@pytest.mark.parametrize("name", ["adult#001", "adolescent#003"])
def test_matches_simglucose_one_patient(name: str) -> None:
    # 1 人・1 分ごと: simglucose と同じ積分の手順なので、
    # ほぼ丸め誤差の範囲で一致する
    patient = gs.load_patient(name)
    ours = gs.simulate([patient], *_scenario(patient))[0]
    reference = _simglucose_trajectory(name)
    assert ours.shape == reference.shape == (N_MIN + 1,)
    assert reference.max() - reference.min() > 20  # 食事で血糖が動いている
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-6)


@needs_simglucose
def test_matches_simglucose_stacked_and_coarse() -> None:
    # 複数の患者をまとめて解く・5 分ごとに出力する: 誤差の制御が変わるだけで、
    # 差は 0.01 mg/dL 未満(dopri5 の相対許容誤差 1e-6 の程度)
    names = ["adult#001", "adult#005", "child#002"]
    patients = [gs.load_patient(n) for n in names]
    schedules = [_scenario(p) for p in patients]
    meals = np.stack([m for m, _ in schedules])
    insulin = np.stack([i for _, i in schedules])
    stacked = gs.simulate(patients, meals, insulin)
    coarse = gs.simulate(patients, meals, insulin, sample_min=5)
    reference = _simglucose_trajectory("adult#001")
    np.testing.assert_allclose(stacked[0], reference, rtol=0, atol=1e-2)
    assert coarse.shape == (3, N_MIN // 5 + 1)
    np.testing.assert_allclose(coarse, stacked[:, ::5], rtol=0, atol=1e-2)


def test_patients_and_units() -> None:
    assert len(gs.patient_names()) == 30
    adults = gs.patient_names("adult")
    assert adults == [f"adult#{k:03d}" for k in range(1, 11)]
    patient = gs.load_patient("adult#001")
    assert 40 < patient.params["BW"] < 150  # 体重 [kg]
    assert 0.005 < patient.basal_rate < 0.05  # 基礎インスリン [U/min]
    assert 70 < patient.basal_glucose < 180  # 空腹時の血糖 [mg/dL]
    assert patient.carb_ratio == 10  # Quest.csv の CR [g/U]
    assert patient.init_state.shape == (gs.STATE_SIZE,)


def test_meal_raises_glucose_and_insulin_lowers_it() -> None:
    patient = gs.load_patient("adult#002")
    n_min = 180
    basal = np.full(n_min, patient.basal_rate)
    no_meal = gs.simulate([patient], np.zeros(n_min), basal)[0]
    meal = np.zeros(n_min)
    meal[0] = 50.0
    only_meal = gs.simulate([patient], meal, basal)[0]
    bolus = basal.copy()
    bolus[0] += 50.0 / patient.carb_ratio
    with_bolus = gs.simulate([patient], meal, bolus)[0]
    # 基礎インスリンだけなら血糖はほぼ一定(定常状態から始まる)
    assert np.ptp(no_meal) < 1.0
    assert only_meal.max() > no_meal.max() + 30  # 食事で上がる
    assert with_bolus.max() < only_meal.max()  # ボーラスで上がり方が小さい
    assert with_bolus[-1] < only_meal[-1]


def test_eat_step_follows_eat_rate() -> None:
    planned, eaten = np.zeros(2), []
    for k in range(5):
        announced = np.array([12.0, 3.0]) if k == 0 else np.zeros(2)
        eat, planned = gs.eat_step(planned, announced)
        eaten.append(eat)
    eaten = np.array(eaten)  # (5, 2)
    np.testing.assert_allclose(eaten[:, 0], [5, 5, 2, 0, 0])  # 5 g/min まで
    np.testing.assert_allclose(eaten[:, 1], [3, 0, 0, 0, 0])


def test_bad_inputs_raise() -> None:
    patient = gs.load_patient("adult#001")
    ok = np.zeros(10)
    with pytest.raises(ValueError, match="仮想患者"):
        gs.load_patient("adult#011")
    with pytest.raises(ValueError, match="group"):
        gs.patient_names("elderly")
    with pytest.raises(ValueError, match="負の値"):
        gs.simulate([patient], ok, np.full(10, -0.01))
    with pytest.raises(ValueError, match="負の値"):
        gs.simulate([patient], np.full(10, np.nan), ok)
    with pytest.raises(ValueError, match="形状"):
        gs.simulate([patient], np.zeros(10), np.zeros(9))
    with pytest.raises(ValueError, match="形状"):
        gs.simulate([patient, patient], ok, ok)
    with pytest.raises(ValueError, match="空"):
        gs.simulate([], ok, ok)
    with pytest.raises(ValueError, match="sample_min"):
        gs.simulate([patient], ok, ok, sample_min=0)
    with pytest.raises(ValueError, match="センサー"):
        gs.cgm_noise(10, 5, np.random.default_rng(0), sensor="Libre")
    with pytest.raises(ValueError, match="n_days"):
        gs.random_meals(0, gs.MealPlan(), np.random.default_rng(0))
    with pytest.raises(ValueError, match="0 以上"):
        gs.basal_bolus(
            patient, np.array([-5.0]), 0.0, np.random.default_rng(0)
        )
    with pytest.raises(ValueError, match="同じ長さ"):
        gs.MealPlan(hours=(7.0,), carbs_g=(40.0, 50.0))


def test_scenario_is_seeded_and_causal() -> None:
    plan = gs.MealPlan()
    patient = gs.load_patient("adult#003")
    meals_a = gs.random_meals(2, plan, np.random.default_rng(5))
    meals_b = gs.random_meals(2, plan, np.random.default_rng(5))
    np.testing.assert_array_equal(meals_a, meals_b)  # 同じシードなら同じ
    assert meals_a.shape == (2 * 1440,)
    assert np.count_nonzero(meals_a) == 2 * len(plan.hours)
    insulin = gs.basal_bolus(patient, meals_a, 0.0, np.random.default_rng(0))
    bolus_u = insulin - patient.basal_rate  # 誤差 0 なら CHO / CR [U]
    np.testing.assert_allclose(bolus_u, meals_a / patient.carb_ratio)
    noise_a = gs.cgm_noise(500, 5, np.random.default_rng(1))
    noise_b = gs.cgm_noise(500, 5, np.random.default_rng(1))
    np.testing.assert_array_equal(noise_a, noise_b)
    assert 3 < noise_a.std() < 30  # センサー誤差 [mg/dL] の大きさ
    # 5 分ごとの合計: サンプル i は分 5i-4 .. 5i(未来の分を含まない)
    per_minute = np.zeros(12)
    per_minute[[0, 5, 6, 11]] = [1.0, 2.0, 4.0, 8.0]
    np.testing.assert_allclose(gs.bin_inputs(per_minute, 5), [1.0, 2.0, 4.0])


def test_simglucose_dir_error_is_clear(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="requirements-data.txt"):
        gs.simglucose_dir()
