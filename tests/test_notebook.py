import matplotlib
import torch
from helpers import load_extension

from medrnn.notebook import environment_markdown, setup_chapter


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
