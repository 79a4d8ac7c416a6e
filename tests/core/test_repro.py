import random

import numpy as np
import pytest
import torch

from medrnn.core.repro import configure_torch, environment_summary, set_seed


def test_set_seed_fixes_random_numpy_and_torch():
    set_seed(7)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    set_seed(7)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b


@pytest.mark.parametrize(
    "bad, exc", [(-1, ValueError), (1.5, TypeError), ("0", TypeError)]
)
def test_set_seed_rejects_bad_seed(bad, exc):
    with pytest.raises(exc, match="seed"):
        set_seed(bad)


def test_configure_torch_sets_threads_and_returns_a_device(monkeypatch):
    device = configure_torch(1)
    assert torch.get_num_threads() == 1
    assert device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setenv("MEDRNN_NUM_THREADS", "2")
    configure_torch()
    assert torch.get_num_threads() == 2
    configure_torch(1)
    with pytest.raises(ValueError, match="num_threads"):
        configure_torch(0)


def test_environment_summary_lists_versions():
    env = environment_summary()
    assert env["PyTorch"] == torch.__version__
    assert {"Python", "NumPy", "Matplotlib"} <= set(env)
