"""目次(_toc.yml、jb-book 形式)の読み方。スクリプトとテストが共通で使う。"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_files(toc_path: Path = ROOT / "_toc.yml") -> list[str]:
    """_toc.yml に並ぶ文書を、根から順に返す(拡張子なし)。"""
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(entries: list) -> None:
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key, []))

    for key in ("parts", "chapters"):
        walk(toc.get(key, []))
    return [re.sub(r"\.(md|ipynb)$", "", f) for f in files]
