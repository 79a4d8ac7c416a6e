"""テストが共通で使う、目次(_toc.yml)の読み方。"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_files(toc_path: Path = ROOT / "_toc.yml") -> list[str]:
    """_toc.yml(jb-book 形式)に並ぶ文書を、根から順に返す(拡張子なし)。"""
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


def numbered_chapters(toc_path: Path = ROOT / "_toc.yml") -> list[str]:
    """番号つきの部(numbered: true)に並ぶ章の文書名。"""
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    return [entry["file"] for part in toc.get("parts", []) if part.get("numbered")
            for entry in part.get("chapters", [])]
