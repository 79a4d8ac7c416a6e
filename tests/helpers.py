"""テストが共通で使う道具。

目次(_toc.yml)の読み方、拡張・スクリプトの読み込み、図の検査。
"""

from __future__ import annotations

import importlib.util
import io
import sys
import warnings
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
# 目次の読み方は scripts/book_toc.py の 1 か所(本の実行の前段と同じもの)
from book_toc import toc_files as toc_files  # noqa: E402


def numbered_chapters(toc_path: Path = ROOT / "_toc.yml") -> list[str]:
    """番号つきの部(numbered: true)に並ぶ章の文書名。"""
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    return [
        entry["file"]
        for part in toc.get("parts", [])
        if part.get("numbered")
        for entry in part.get("chapters", [])
    ]


def load_module(name: str, path: Path):
    """パッケージでない .py ファイル(Sphinx 拡張・スクリプト)を
    モジュールとして読む。
    """
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = (
        module  # dataclass などが自分のモジュールを引けるように
    )
    spec.loader.exec_module(module)
    return module


def load_extension(name: str):
    """book/_ext/<name>.py の Sphinx 拡張を読む。"""
    return load_module(name, ROOT / "book" / "_ext" / f"{name}.py")


def render_strict(fig) -> None:
    """図を PNG と PDF に描き、グリフ欠けなどの警告をエラーにする。"""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for fmt in ("png", "pdf"):
            fig.savefig(io.BytesIO(), format=fmt)


def axis_labels(fig) -> str:
    """図のすべての軸の横軸・縦軸のラベルをつないだ文字列(単位の検査用)。"""
    return " ".join(ax.get_xlabel() + " " + ax.get_ylabel() for ax in fig.axes)


def assert_figure_with_units(fig, units) -> None:
    """fig が Figure で、警告なしに描け、軸のラベルに units がどれもあるか。"""
    from matplotlib.figure import Figure

    assert isinstance(fig, Figure)
    render_strict(fig)
    labels = axis_labels(fig)
    for unit in units:
        assert unit in labels
