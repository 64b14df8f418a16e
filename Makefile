# `make serve` and `make test` each make or refresh the virtual environment .venv
# (it is rebuilt when pyproject.toml or constraints.txt changes), so both work on a
# fresh machine that has Python 3.11+ and make. Installs take the versions pinned in
# constraints.txt, the ones CI tests. `make matrix` runs the suite on Python 3.12 and
# 3.13 too (nox; CI's extra step).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: serve test matrix bench clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

serve: $(BIN)/.installed
	$(BIN)/fakecmon serve $(ARGS)

test: $(BIN)/.installed
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

matrix: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -c constraints.txt nox
	$(BIN)/python -m nox --sessions tests-3.12 tests-3.13

bench: $(BIN)/.installed
	$(BIN)/python bench/bench.py

clean:
	rm -rf $(VENV) .nox build dist *.egg-info
