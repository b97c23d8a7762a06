PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench lint fuzz clean

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

# each harness in tests/fuzz/ for FUZZ_SECONDS; corpus and crashes go to .fuzz/
FUZZ_SECONDS ?= 60
fuzz: install
	$(BIN)/pip install --quiet -e '.[fuzz]'
	@set -e; for harness in tests/fuzz/fuzz_*.py; do \
	  echo "== $$harness ($(FUZZ_SECONDS) s)"; \
	  $(BIN)/python $$harness -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(FUZZ_ARGS); \
	done

lint: install
	$(BIN)/pip install --quiet ruff mypy
	$(BIN)/ruff check relay tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info .fuzz
