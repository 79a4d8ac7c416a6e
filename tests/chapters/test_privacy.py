"""medrnn.chapters.privacy: 比較の表・主張の検査(壊した結果で)・練習問題。"""

import dataclasses
import os

import numpy as np
import pytest
import torch

from medrnn.chapters import privacy as prv
from medrnn.core.compare import compare_seeds
from medrnn.core.repro import seed_offset
from medrnn.core.training import History
from medrnn.privacy import dp
from medrnn.privacy import federated as fed

N_SEEDS = 5


@pytest.fixture(scope="module")
def pdata(hall):
    return prv.prepare(hall)


def _run(target, rng, scale):
    pred = target + rng.normal(0, scale, target.shape)
    return prv.ModelRun(pred, [20.0, 16.0 + scale - 12, 15.0])


def _record(n_train, pid=None):
    states = [{"w": torch.full((2,), float(k))} for k in range(3)]
    n = [n_train - 2 * (n_train // 3), n_train // 3, n_train // 3]
    pids = [pid or os.getpid() + 1 + k for k in range(3)]
    return fed.RoundRecord(
        states, n, fed.fedavg(states, n), pids, [seed_offset()] * 3
    )


def _dp_run(sigma, epsilon=None):
    q, steps = 0.0625, 48
    eps = epsilon or dp.rdp_epsilon(sigma, q, steps, dp.DELTA)
    config = dataclasses.replace(prv.DP_BASE, noise_multiplier=sigma)
    return dp.DPRun(None, config, eps, q, steps, History())


@pytest.fixture(scope="module")
def results(pdata, hall):
    """学習の代わり: 正解に雑音を足した予測。集約と ε は本物の式で。"""
    rng = np.random.default_rng(0)
    target = pdata.windows["test"].Y
    diagnosis = {s.subject_id: s.diagnosis for s in hall}
    hospitals = prv.make_hospitals(pdata, diagnosis)
    n_train = len(pdata.windows["train"].X)
    return prv.PrivacyResults(
        pdata,
        diagnosis,
        hospitals,
        [_run(target, rng, 12) for _ in range(N_SEEDS)],
        {
            s: {n: [_run(target, rng, 13) for _ in range(N_SEEDS)] for n in h}
            for s, h in hospitals.items()
        },
        {
            s: [_run(target, rng, 12.5) for _ in range(N_SEEDS)]
            for s in prv.SCHEMES
        },
        {s: [_record(n_train) for _ in range(N_SEEDS)] for s in prv.SCHEMES},
        {s: _dp_run(s) for s in prv.NOISE_LEVELS},
        {s: _run(target, rng, 13).test_pred for s in prv.NOISE_LEVELS},
        _run(target, rng, 12.5),
        {},
    )


def test_realistic_results_pass_every_claim(results, hall):
    assert prv.check_claims(results, hall) == []


def _failures(results, hall, **changes):
    return prv.check_claims(dataclasses.replace(results, **changes), hall)


def test_claim_catches_a_patient_in_two_hospitals(results, hall):
    h = {
        s: {n: list(ids) for n, ids in d.items()}
        for s, d in results.hospitals.items()
    }
    h["混合"]["病院 A"].append(h["混合"]["病院 B"][0])
    failures = _failures(results, hall, hospitals=h)
    assert any("ちょうど 1 つの病院" in f for f in failures)


def test_claim_catches_a_test_patient_in_a_hospital(results, hall):
    h = {
        s: {n: list(ids) for n, ids in d.items()}
        for s, d in results.hospitals.items()
    }
    h["診断別"]["病院 B"].append(results.data.groups["test"][0])
    failures = _failures(results, hall, hospitals=h)
    assert "テストと検証の人はどの病院にも入っていない" in failures


def test_claim_catches_a_mixed_diagnosis_hospital(results, hall):
    h = {
        s: {n: list(ids) for n, ids in d.items()}
        for s, d in results.hospitals.items()
    }
    a, b = h["診断別"]["病院 A"], h["診断別"]["病院 B"]
    a[0], b[0] = b[0], a[0]  # 糖尿病と予備群の 1 人を入れ替える
    failures = _failures(results, hall, hospitals=h)
    assert any("診断別の病院には 1 つの診断" in f for f in failures)


def test_claim_catches_a_missing_federated_run(results, hall):
    fed_runs = {**results.federated, "混合": results.federated["混合"][:4]}
    failures = _failures(results, hall, federated=fed_runs)
    assert "連合学習はどの分け方・どのシードでも実行された" in failures


def test_claim_catches_a_wrong_aggregate(results, hall):
    bad = _record(len(results.data.windows["train"].X))
    bad.aggregated["w"] = bad.aggregated["w"] + 1e-3
    rounds = {**results.rounds, "混合": [bad] + results.rounds["混合"][1:]}
    failures = _failures(results, hall, rounds=rounds)
    assert any("fedavg と Flower の集約" in f for f in failures)


def test_claim_catches_wrong_window_counts_and_same_process(results, hall):
    rounds = {s: [_record(10, pid=os.getpid())] * N_SEEDS for s in prv.SCHEMES}
    failures = _failures(results, hall, rounds=rounds)
    assert any("窓の数の合計" in f for f in failures)
    assert "病院の学習はノートブックとは別のプロセスで行われた" in failures


def test_claim_catches_a_different_seed_offset(results, hall):
    bad = _record(len(results.data.windows["train"].X))
    bad.offsets[0] += 1
    rounds = {**results.rounds, "診断別": [bad] * N_SEEDS}
    failures = _failures(results, hall, rounds=rounds)
    assert any("シードのずらし幅" in f for f in failures)


def test_claim_catches_training_that_did_not_help(results, hall):
    stuck = [
        dataclasses.replace(r, val_rmse=[15.0, 16.0]) for r in results.central
    ]
    failures = _failures(results, hall, central=stuck)
    assert any("学習前より小さい" in f for f in failures)


def test_claim_catches_federated_learning_faster_than_central(results, hall):
    fast = [
        dataclasses.replace(r, val_rmse=[20.0, 10.0, 9.0])
        for r in results.federated["診断別"]
    ]
    failures = _failures(
        results, hall, federated={**results.federated, "診断別": fast}
    )
    assert any("1 周目の後の検証 RMSE" in f for f in failures)


def test_claim_catches_a_wrong_or_non_monotone_epsilon(results, hall):
    runs = {**results.dp_runs, 1.0: _dp_run(1.0, epsilon=0.5)}
    failures = _failures(results, hall, dp_runs=runs)
    assert "ε は Opacus の会計係で求め直した値と一致する" in failures
    assert "σ を大きくするほど ε は小さい" in failures


def test_claims_about_anonymity_catch_identical_people(results, hall):
    same = [
        dataclasses.replace(
            s,
            subject_id=f"{s.subject_id[:4]}-x{i}",
            diagnosis="d",
            times=hall[0].times,
            glucose=hall[0].glucose,
        )
        for i, s in enumerate(hall)
    ]
    failures = prv.check_claims(results, same)
    assert any("元の表の k は 1" in f for f in failures)
    assert any("再識別の割合" in f for f in failures)


def test_tables_and_words_follow_the_verdicts(results):
    main = prv.compare_main(results)
    assert set(main) == {
        "prv_fed_mixed_central",
        "prv_fed_diag_central",
        "prv_fed_diag_mixed",
    }
    for pc in main.values():
        assert pc.by_seed is not None and pc.by_seed.n == N_SEEDS
        assert pc.by_patient.n == len(set(results.test.subject))
        assert prv.WORDS[pc.verdict]
    rows = prv.hospital_rows(results)
    assert len(rows) == 2 * prv.N_HOSPITALS
    assert all(
        r["FedAvg の判定"] in ("良い", "悪い", "判断できない") for r in rows
    )
    dp_table = prv.dp_rows(results)
    assert [r["σ"] for r in dp_table] == ["0.5", "1", "2"]
    assert all(c.by_seed is None for c in prv.compare_dp(results).values())


def test_pair_verdict_needs_both_judgements():
    base = compare_seeds([1.0, 2.0, 3.0], [1.5, 2.5, 3.0])

    def c(low, high):
        return dataclasses.replace(base, low=low, high=high)

    assert prv.PairComparison(c(-2, -1), c(-3, -1)).verdict == "better"
    assert prv.PairComparison(c(-2, -1), c(-3, 1)).verdict == "cannot tell"
    assert prv.PairComparison(None, c(1, 2)).verdict == "worse"


def test_hospital_test_mask_follows_the_diagnosis(results):
    for name, ids in results.hospitals["診断別"].items():
        mask = prv.hospital_test_mask(results, "診断別", name)
        kinds = {results.diagnosis[i] for i in ids}
        assert {
            results.diagnosis[p] for p in results.test.subject[mask]
        } == kinds
    assert prv.hospital_test_mask(results, "混合", "病院 A").all()


def test_exercises(results, hall):
    ex1 = prv.exercise_1(hall)
    assert ex1["診断も消す"] == len(hall) >= ex1["診断だけ残す"] >= 2
    ex2 = prv.exercise_2(results)
    assert ex2["epsilon_k"] == pytest.approx(ex2["k"] * ex2["epsilon"])
    assert ex2["k"] > 100 and ex2["log10_delta_k"] > 0  # 何も保証しない
    ex3 = prv.exercise_3(hall)
    assert 0 <= ex3["two"] <= 1 and ex3["chance"] == 1 / len(hall)


def test_sigma_key_and_dp_curve(results):
    assert prv.sigma_key(0.5) == "0_5" and prv.sigma_key(1.0) == "1"
    eps, rmse, ref = prv.dp_curve(results)
    assert np.all(np.diff(eps) < 0) and rmse.shape == eps.shape
    assert np.isfinite(ref)


def test_report_needs_two_seeds():
    with pytest.raises(ValueError):
        prv.report(n_seeds=1)
