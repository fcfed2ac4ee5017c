# reelcat: `make run` catalogues the bundled sample archive, `make test` runs the tests.
# Both create the virtual environment on first use. torch and torchvision are installed
# first with pip at pinned versions (pip takes them from local disk where a machine has
# them; other tools would download several GB).

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test test-fast sample dagster browser postgres lint benchmark-quality benchmark-throughput screenshots clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

sample_archive/ground_truth.json: | $(STAMP)
	$(BIN)/reelcat synth --videos 12 --seed 7 --out sample_archive

sample: sample_archive/ground_truth.json

run: $(STAMP) sample_archive/ground_truth.json
	$(BIN)/reelcat run

test: $(STAMP)
	$(BIN)/pytest

test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow"

# SQLite in .dagster_home with the run queue of deploy/dagster.local.yaml (copied there once;
# an existing .dagster_home/dagster.yaml is kept).
dagster: $(STAMP)
	mkdir -p .dagster_home
	test -f .dagster_home/dagster.yaml || cp deploy/dagster.local.yaml .dagster_home/dagster.yaml
	DAGSTER_HOME=$(CURDIR)/.dagster_home $(BIN)/dagster dev -w workspace.yaml

# Debian's Chromium for the review page's browser test (needs root; skipped if present).
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

# Debian's PostgreSQL for the shared Dagster instance's test (needs root; skipped if
# present). The test starts its own server in a temporary folder; nothing runs as a service.
postgres:
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq postgresql)

# The README's screenshots (docs/*.png) redrawn: the review page over out/ (catalogued
# first, as `make run`) and the Dagster UI after "Materialize all" into a throwaway
# output folder and DAGSTER_HOME. Needs Chromium (`make browser`); about 3 minutes.
screenshots: run
	$(BIN)/python docs/screenshots.py

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

benchmark-quality: $(STAMP)
	$(BIN)/python benchmarks/quality.py

benchmark-throughput: $(STAMP)
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf out sample_archive .dagster_home
