# Two commands on a fresh clone: `make run` and `make test`. Each creates the virtual
# environment and installs the project into it when pyproject.toml is newer than the install.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXAMPLE ?= schedcore/examples/wedge_summary.top.json

.PHONY: run cook test lint bench dist check-dist test-pythons package clean

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

# The wheel and the sdist in dist/ (built in an isolated environment, as pip would).
dist: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet 'build>=1.2'
	rm -rf dist/schedstudio-*.whl dist/schedstudio-[0-9]*.tar.gz build/lib
	$(BIN)/python -m build --outdir dist .

# What users get: the wheel installed (not editable) into clean venvs outside the tree: the
# engine alone cooks an example without Qt; the studio's self-test from [all]; their contents.
check-dist: dist
	PYTHON=$(PYTHON) packaging/check_dist.sh

# The test suite once on every Python from 3.10 up found on this machine (pyenv or PATH).
test-pythons:
	SKIP="$(SKIP)" packaging/test_pythons.sh

# The packaged studio: dist/schedstudio/ (one folder) and dist/schedstudio-linux.tar.gz;
# then it checks itself (schedstudio --self-test, offscreen).
package: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet 'pyinstaller>=6.10'
	packaging/build_bundle.sh $(BIN)
	PYTHON=$(PYTHON) packaging/check_bundle.sh

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build dist *.egg-info
