# 使い方: make html(本を作る) / make test(テスト) / make pdf(PDF)
#         make chapter CH=book/rnn.md(1 章だけ HTML に)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JB     := $(BIN)/jupyter-book build . --all -W -n --keep-going
export MEDRNN_NUM_THREADS ?= 1
export PYTHONHASHSEED := 0

.PHONY: venv html test pdf tex chapter clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

html: $(STAMP)
	$(JB)
	@echo "できあがり: _build/html/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest -q

chapter: $(STAMP)
	$(BIN)/jupyter-book build $(CH) -W -n --keep-going

clean:
	rm -rf _build
