"""テスト共通の設定: 1 スレッドで、毎回シードを固定する。"""

import pytest

from medrnn.repro import configure_torch, set_seed


@pytest.fixture(autouse=True)
def _seeded() -> None:
    configure_torch(1)
    set_seed(0)
