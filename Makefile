# Two commands on a fresh clone: `make run` and `make test`. Each creates the virtual
# environment and installs the project into it when pyproject.toml is newer than the install.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXAMPLE ?= schedcore/examples/wedge_summary.top.json

.PHONY: run cook test lint bench package clean

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

# The packaged studio: dist/schedstudio/ (one folder) and dist/schedstudio-linux.tar.gz;
# then it checks itself (schedstudio --self-test, offscreen).
package: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet 'pyinstaller>=6.10'
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN --distpath dist \
		--workpath build/pyinstaller packaging/schedstudio.spec
	tar -czf dist/schedstudio-$$(uname -s | tr A-Z a-z).tar.gz -C dist schedstudio
	packaging/check_bundle.sh

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build dist *.egg-info
