"""章を並列に実行する前段(scripts/execute_chapters.py)のテスト。"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import execute_chapters  # noqa: E402
import run_chapter  # noqa: E402
from jupyter_cache import get_cache  # noqa: E402

CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# 小さな章 {n}

```{{code-cell}} ipython3
from myst_nb import glue
import torch
from medrnn.core.repro import configure_torch, set_seed
configure_torch()
set_seed({n})
model = torch.nn.GRU(1, 4, batch_first=True)
x = torch.randn(8, 20, 1)
opt = torch.optim.Adam(model.parameters(), lr=0.01)
for _ in range(20):
    opt.zero_grad()
    loss = model(x)[0].pow(2).mean()
    loss.backward()
    opt.step()
glue("loss_{n}", float(loss), display=False)
glue("threads_{n}", torch.get_num_threads(), display=False)
```
"""


def _write(tmp_path: Path, n: int) -> Path:
    path = tmp_path / f"ch{n}.md"
    path.write_text(CHAPTER.format(n=n), encoding="utf-8")
    return path


def test_parallel_execution_matches_serial_and_fills_cache(tmp_path):
    docs = [_write(tmp_path, n) for n in (1, 2)]
    cache_dir = tmp_path / "cache"
    args = [str(p) for p in docs] + ["--jobs", "2", "--cache", str(cache_dir)]
    assert execute_chapters.main(args) == 0
    cache = get_cache(str(cache_dir))
    for path in docs:
        record = cache.match_cache_notebook(
            execute_chapters.read_notebook(path)
        )
        _, cached = cache.merge_match_into_notebook(
            execute_chapters.read_notebook(path)
        )
        serial, _ = run_chapter.run(path)
        # 並列(別プロセス・同時に 2 章)と直列で、glue した値が 1 桁も違わない
        assert run_chapter.glued_values(cached) == run_chapter.glued_values(
            serial
        )
        assert record.data["execution_seconds"] > 0
    values = run_chapter.glued_values(serial)
    assert values["threads_2"] == "1"  # 章ごとに PyTorch のスレッドは 1 本
    # 2 回目は何も実行しない(キャッシュが効く)
    assert execute_chapters.outdated(cache, docs) == []


def test_failing_cell_fails_the_run(tmp_path, capsys):
    bad = _write(tmp_path, 4)
    bad.write_text(
        bad.read_text(encoding="utf-8").replace(
            "configure_torch()", "raise RuntimeError('わざと失敗')"
        ),
        encoding="utf-8",
    )
    rc = execute_chapters.main([str(bad), "--cache", str(tmp_path / "c")])
    assert rc == 1
    assert "わざと失敗" in capsys.readouterr().err


def test_jobs_must_be_positive(tmp_path):
    with pytest.raises(SystemExit):
        execute_chapters.main(["--jobs", "0", "--cache", str(tmp_path)])


def test_toc_documents_are_the_book_notebooks():
    names = {p.stem for p in execute_chapters.toc_documents()}
    assert {
        "rnn",
        "lstm",
        "gru",
        "ecg",
        "cgm",
        "glucose_sim",
        "vitals",
    } <= names
    assert "glossary" not in names  # ノートブックでない文書は実行しない
