import matplotlib
import torch
from helpers import load_extension

from medrnn.core.notebook import environment_markdown, setup_chapter


def test_setup_chapter_seeds_and_configures_everything():
    device = setup_chapter(seed=5)
    a = torch.rand(3)
    setup_chapter(seed=5)
    assert torch.equal(a, torch.rand(3))
    assert torch.get_num_threads() == 1
    assert device.type in {"cpu", "cuda"}
    assert matplotlib.rcParams["pdf.fonttype"] == 42


def test_environment_markdown_is_a_table_with_versions():
    text = environment_markdown().data
    assert text.startswith("| 項目 | 値 |")
    assert f"| PyTorch | {torch.__version__} |" in text


def test_japanese_line_breaks_are_joined_but_others_kept():
    module = load_extension("medrnn_japanese")
    assert (
        module.join_japanese_lines("変わります。\nこの章では")
        == "変わります。この章では"
    )
    assert (
        module.join_japanese_lines("RNN\nと LSTM") == "RNN\nと LSTM"
    )  # 英字の後ろは残す
    assert (
        module.join_japanese_lines("です。\n\uff08注\uff09")
        == "です。\uff08注\uff09"
    )  # 全角括弧
    # MyST はソフト改行を "\n" だけのテキストノードにする: 両隣が日本語なら消す
    from docutils.core import publish_doctree
    from myst_parser.parsers.docutils_ import Parser

    doc = publish_doctree(
        "変わります。\nこの章では **強調**\nです。\nRNN を", parser=Parser()
    )
    module.JoinJapaneseLines(doc).apply()
    assert doc.astext() == "変わります。この章では 強調です。\nRNN を"
    # 同じ "\n" のノードが段落に複数あっても、それぞれの両隣で判断する
    doc = publish_doctree("RNN\nと言います。\nこの章\nです。", parser=Parser())
    module.JoinJapaneseLines(doc).apply()
    assert doc.astext() == "RNN\nと言います。この章です。"


def test_setup_chapter_prints_numpy_scalars_plainly():
    import numpy as np

    from medrnn.core.notebook import setup_chapter

    setup_chapter(seed=0)
    # glue は値の repr を保存する。
    # 「np.float64(...)」では本文の :.2f で書式化できない
    assert repr(np.float64(0.5)) == "0.5"


def test_build_times_markdown_shows_the_ratio(tmp_path):
    import json

    from medrnn.core.notebook import build_times_markdown

    path = tmp_path / "times.json"
    path.write_text(
        json.dumps(
            {
                "measured": "2026-12-01",
                "cpu_count": 2,
                "baseline": "e9b1a5f",
                "baseline_seconds": 400.0,
                "clean_seconds": 180.0,
                "noop_seconds": 4.0,
                "prose_only_seconds": 9.0,
            }
        )
    )
    text = build_times_markdown(path).data
    assert "| 基準のコミットのクリーンビルド | 400.0 |" in text
    assert "0.45 倍" in text and "e9b1a5f" in text


def test_the_book_has_a_build_time_record(tmp_path):
    from pathlib import Path

    from medrnn.core.notebook import build_times_markdown

    record = Path(__file__).resolve().parents[2] / "book" / "build_times.json"
    assert record.is_file(), "bash scripts/measure_build.sh --json で作る"
    assert "クリーンビルド" in build_times_markdown(record).data
    assert "まだありません" in build_times_markdown(tmp_path / "x").data


def test_table_cells_use_a_real_minus_sign():
    from medrnn.core.notebook import rows_to_markdown

    table = rows_to_markdown(
        [
            {
                "差": "-0.0003",
                "区間": "-0.01 〜 +0.02",
                "日付": "2026-12-01",
                "名前": "LSTM − RNN",
            }
        ]
    )
    assert "| \u22120.0003 | \u22120.01 〜 +0.02 | 2026-12-01 |" in table
