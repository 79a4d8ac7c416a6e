import pytest

from medrnn.__main__ import main
from medrnn.experiments import RNN_RECIPE, prepare_data, train_recipe


def test_cli_prints_the_same_test_mse_as_the_package(capsys):
    assert main(["rnn", "--seeds", "0"]) == 0
    out = capsys.readouterr().out
    expected = train_recipe(RNN_RECIPE, prepare_data(RNN_RECIPE), seed=0).test_mse
    assert f"テスト MSE = {expected:.4f}" in out
    assert "線形 AR" in out and "ノイズフロア σ² = 0.0400" in out


def test_cli_rejects_an_unknown_chapter(capsys):
    with pytest.raises(SystemExit):
        main(["transformer"])
    assert "invalid choice" in capsys.readouterr().err


def test_cli_covers_every_numbered_chapter():
    from helpers import numbered_chapters

    from medrnn.__main__ import CHAPTERS

    chapters = [doc.split("/")[-1] for doc in numbered_chapters()]
    assert chapters and set(chapters) == set(CHAPTERS)
