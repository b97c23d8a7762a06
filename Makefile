PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: install
	$(BIN)/relay --config conf/relay.toml

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

lint: install
	$(BIN)/pip install --quiet ruff mypy
	$(BIN)/ruff check relay tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info
