import matplotlib
import torch

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
