# 使い方: make html(本を作る) / make test(テスト) / make pdf(PDF)
#         make bench(学習ループの速さを記事のループと比べる)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JB     := $(BIN)/jupyter-book build . --all -W -n --keep-going
export MEDRNN_NUM_THREADS ?= 1
export PYTHONHASHSEED := 0

.PHONY: venv html test pdf bench clean

$(STAMP): requirements.txt requirements-data.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -r requirements-data.txt
	touch $(STAMP)

venv: $(STAMP)

html: $(STAMP)
	$(JB)
	@echo "できあがり: _build/html/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest -q

pdf: $(STAMP)
	bash scripts/build_pdf.sh

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_training.py

clean:
	rm -rf _build
