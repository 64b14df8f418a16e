# `make serve` and `make test` each make or refresh the virtual environment .venv
# (it is rebuilt when pyproject.toml changes), so both work on a fresh machine
# that has Python 3.11+ and make.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: serve test bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

serve: $(BIN)/.installed
	$(BIN)/fakecmon serve $(ARGS)

test: $(BIN)/.installed
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

bench: $(BIN)/.installed
	$(BIN)/python bench/bench.py

clean:
	rm -rf $(VENV) build *.egg-info
