# Two commands on a fresh clone: `make run` and `make test`. Each creates the virtual
# environment and installs the project into it when pyproject.toml is newer than the install.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXAMPLE ?= resources/examples/wedge_summary.top.json

.PHONY: run cook test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/schedstudio $(EXAMPLE)

cook: $(VENV)/.installed
	$(BIN)/schedcore cook $(EXAMPLE)

test: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
