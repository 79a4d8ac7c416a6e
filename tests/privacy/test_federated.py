"""medrnn.privacy.federated: FedAvg の式・病院の分け方・Flower での学習。"""

import os

import numpy as np
import pytest
import torch

from medrnn.core.models.nets import ModelConfig, RecurrentRegressor
from medrnn.core.repro import set_seed
from medrnn.core.training import TrainConfig
from medrnn.privacy import federated as fed

TINY = ModelConfig(kind="gru", hidden_size=4, output_size=2)
ONE_EPOCH = TrainConfig(epochs=1, batch_size=16, lr=1e-2)


def _state(value: float) -> dict[str, torch.Tensor]:
    return {"w": torch.full((2, 3), value), "b": torch.full((3,), value)}


def test_fedavg_weights_by_number_of_windows():
    out = fed.fedavg([_state(1.0), _state(4.0)], [3, 1])
    torch.testing.assert_close(out["w"], torch.full((2, 3), 1.75))
    torch.testing.assert_close(out["b"], torch.full((3,), 1.75))


def test_fedavg_with_equal_counts_is_the_plain_mean():
    states = [_state(v) for v in (1.0, 2.0, 6.0)]
    out = fed.fedavg(states, [5, 5, 5])
    torch.testing.assert_close(out["w"], torch.full((2, 3), 3.0))


@pytest.mark.parametrize(
    "states, counts",
    [([], []), ([_state(1.0)], [1, 2]), ([_state(1.0)], [0])],
)
def test_fedavg_rejects_bad_input(states, counts):
    with pytest.raises(ValueError):
        fed.fedavg(states, counts)


def test_fedavg_rejects_states_with_different_names():
    with pytest.raises(ValueError, match="同じ名前"):
        fed.fedavg([_state(1.0), {"w": torch.ones(2, 3)}], [1, 1])


IDS = [f"p{i}" for i in range(11)]
DIAGNOSES = ["d"] * 3 + ["p"] * 8


@pytest.mark.parametrize("by_diagnosis", [False, True])
def test_every_patient_is_in_exactly_one_hospital(by_diagnosis):
    h = fed.assign_hospitals(IDS, DIAGNOSES, 3, by_diagnosis)
    assert len(h) == 3
    assert sorted(sum(h.values(), [])) == sorted(IDS)


def test_hospitals_by_diagnosis_hold_one_diagnosis_each():
    kind = dict(zip(IDS, DIAGNOSES))
    h = fed.assign_hospitals(IDS, DIAGNOSES, 3, by_diagnosis=True)
    assert [len({kind[i] for i in ids}) for ids in h.values()] == [1, 1, 1]
    assert sorted(len(ids) for ids in h.values()) == [3, 4, 4]


def test_mixed_hospitals_hold_both_diagnoses():
    kind = dict(zip(IDS, DIAGNOSES))
    h = fed.assign_hospitals(IDS, DIAGNOSES, 3, by_diagnosis=False)
    assert all(len({kind[i] for i in ids}) == 2 for ids in h.values())


def test_assign_hospitals_rejects_bad_input():
    with pytest.raises(ValueError, match="重複"):
        fed.assign_hospitals(["a", "a"], ["d", "d"], 2, False)
    with pytest.raises(ValueError, match="病院の数"):
        fed.assign_hospitals(IDS, DIAGNOSES, 1, True)  # 診断は 2 種類
    with pytest.raises(ValueError, match="病院の数"):
        fed.assign_hospitals(IDS, DIAGNOSES, 12, True)


def _hospital(name: str, n: int, seed: int) -> fed.HospitalData:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6, 1)).astype(np.float32)
    y = X[:, -2:, 0] * 0.5  # 最後の 2 つの値から作る正解
    return fed.HospitalData(name, (name,), X, y.astype(np.float32))


def test_hospital_data_uses_only_its_patients(data):
    hospitals = {"病院 A": data.groups["train"][:2], "病院 B": ["none"]}
    with pytest.raises(ValueError, match="訓練の窓がありません"):
        fed.hospital_data(data, hospitals)
    (a,) = fed.hospital_data(data, {"病院 A": data.groups["train"][:2]})
    mine = np.isin(data.windows["train"].subject, data.groups["train"][:2])
    assert len(a.X) == mine.sum()
    np.testing.assert_array_equal(a.y, data.targets("train").numpy()[mine])


def test_client_update_is_reproducible_and_learns():
    hospital = _hospital("A", 64, 0)
    set_seed(0)
    start = RecurrentRegressor(TINY).state_dict()
    one, loss_one = fed.client_update(start, hospital, TINY, ONE_EPOCH, 7)
    two, loss_two = fed.client_update(start, hospital, TINY, ONE_EPOCH, 7)
    assert loss_one == loss_two and np.isfinite(loss_one)
    for k in start:
        torch.testing.assert_close(one[k], two[k])
    assert any(not torch.equal(one[k], start[k]) for k in start)


def test_check_schemes_needs_equal_numbers_of_hospitals():
    a, b = _hospital("A", 8, 0), _hospital("B", 8, 1)
    with pytest.raises(ValueError, match="同じ数"):
        fed._check_schemes({"x": [a, b], "y": [a]})
    assert fed._check_schemes({"x": [a, b]}) == 2


def test_simulation_backend_has_no_gpu_and_at_most_one_worker_per_cpu():
    config = fed.simulation_backend(3)
    assert config["client_resources"] == {"num_cpus": 1, "num_gpus": 0.0}
    assert 1 <= config["init_args"]["num_cpus"] <= min(3, os.cpu_count())


@pytest.fixture(scope="module")
def flower_run():
    """Flower のシミュレーション(Ray)で、2 つの病院・1 ラウンドの FedAvg。"""
    schemes = {"s": [_hospital("A", 48, 0), _hospital("B", 80, 1)]}
    set_seed(0)
    jobs = [fed.FedJob("s", 0, RecurrentRegressor(TINY).state_dict())]
    runs = fed.run_flower(schemes, jobs, TINY, ONE_EPOCH, 1, lambda state: 1.0)
    return schemes, jobs, runs


def test_package_fedavg_equals_what_flower_computed(flower_run):
    _, _, (run,) = flower_run
    record = run.first_round
    assert sorted(record.n_examples) == [48, 80]
    mine = fed.fedavg(record.states, record.n_examples)
    for k in mine:
        torch.testing.assert_close(mine[k], record.aggregated[k])
        torch.testing.assert_close(run.state[k], record.aggregated[k])


def test_flower_clients_match_client_update_in_separate_processes(
    flower_run,
):
    schemes, (job,), (run,) = flower_run
    record = run.first_round
    assert os.getpid() not in record.pids
    assert fed.same_seed_offset(record)
    by_size = dict(zip(record.n_examples, record.states))
    for part, hospital in enumerate(schemes["s"]):
        seed = fed.client_seed(0, 1, part)
        expected, _ = fed.client_update(
            job.initial, hospital, TINY, ONE_EPOCH, seed
        )
        for k in expected:
            torch.testing.assert_close(
                by_size[len(hospital.X)][k], expected[k]
            )


def test_flower_leaves_no_ray_running(flower_run):
    import ray

    assert not ray.is_initialized()
    assert flower_run[2][0].val_rmse == [1.0, 1.0]
