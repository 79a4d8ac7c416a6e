"""コマンドライン(python -m medrnn <章>)のテスト。"""

import importlib

import pytest

from medrnn.__main__ import CHAPTERS, main
from medrnn.theory.experiments import RNN_RECIPE, prepare_data, train_recipe


def test_cli_prints_the_same_test_mse_as_the_package(capsys):
    assert main(["rnn", "--seeds", "0"]) == 0
    out = capsys.readouterr().out
    expected = train_recipe(
        RNN_RECIPE, prepare_data(RNN_RECIPE), seed=0
    ).test_mse
    assert f"テスト MSE = {expected:.4f}" in out
    assert "線形 AR" in out and "ノイズフロア σ² = 0.0400" in out


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_cli_dispatches_every_chapter_with_its_seeds(
    chapter, monkeypatch, capsys
):
    module = importlib.import_module(f"medrnn.chapters.{chapter}")
    calls = []
    monkeypatch.setattr(
        module, "report", lambda **kwargs: calls.append(kwargs)
    )
    assert main([chapter, "--seed", "3", "--seeds", "7"]) == 0
    assert calls == [{"seed": 3, "n_seeds": 7}]
    assert "PyTorch" in capsys.readouterr().out  # 環境の 1 行


def test_cli_help_lists_every_chapter(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert all(chapter in out for chapter in CHAPTERS)
    assert "--seed" in out and "--seeds" in out


def test_cli_rejects_an_unknown_chapter_and_negative_seeds(capsys):
    with pytest.raises(SystemExit):
        main(["transformer"])
    assert "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["rnn", "--seeds", "-1"])
    assert "0 以上" in capsys.readouterr().err


def test_cli_covers_every_numbered_chapter():
    from helpers import numbered_chapters

    chapters = [doc.split("/")[-1] for doc in numbered_chapters()]
    assert chapters and set(chapters) == set(CHAPTERS)
