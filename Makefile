# Two commands on a fresh clone: `make run` and `make test`. Each creates the virtual
# environment and installs the project into it when pyproject.toml is newer than the install.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXAMPLE ?= schedcore/examples/wedge_summary.top.json
# The suite mostly waits on processes and sockets: four workers on two cores halve its time.
PYTEST_ARGS ?= -n 4 --durations=15

.PHONY: run cook test lint bench slurm-up slurm-down dist check-dist test-pythons test-lowest docs package package-compat clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/schedstudio $(EXAMPLE)

cook: $(VENV)/.installed
	$(BIN)/schedcore cook $(EXAMPLE)

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy  # schedcore, as configured in pyproject.toml

# The wheel and the sdist in dist/ (built in an isolated environment, as pip would).
dist: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet 'build>=1.2'
	rm -rf dist/schedstudio-*.whl dist/schedstudio-[0-9]*.tar.gz build/lib
	$(BIN)/python -m build --outdir dist .

# What users get: the wheel installed (not editable) into clean venvs outside the tree: the
# engine alone cooks an example without Qt; the studio's self-test from [all]; their contents.
check-dist: dist
	PYTHON=$(PYTHON) packaging/check_dist.sh

# On every other Python from 3.10 up found on this machine (pyenv or PATH): what differs
# between versions (the engine's tests and the studio's self-test).
test-pythons: $(VENV)/.installed
	SKIP="$(SKIP)" packaging/test_pythons.sh

# The floors of pyproject.toml: the lowest allowed versions on Python 3.10, the whole suite.
test-lowest: $(VENV)/.installed
	packaging/test_lowest.sh

# The manual in build/docs/ (warnings are errors: a broken reference fails the build).
docs: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -r docs/requirements.txt
	$(BIN)/python -m sphinx -W --keep-going -q -b html docs build/docs

# The packaged studio: dist/schedstudio/ (one folder) and dist/schedstudio-linux.tar.gz;
# then it checks itself (schedstudio --self-test, offscreen).
package: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet 'pyinstaller>=6.10'
	packaging/build_bundle.sh $(BIN)
	PYTHON=$(PYTHON) packaging/check_bundle.sh

# The same for older systems (glibc 2.31): built inside a Debian 11 root (root needed).
package-compat: $(VENV)/.installed
	packaging/build_compat.sh

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/run_all.py

# A real Slurm on this machine (root; apt-get installs it when missing): munge, slurmctld and
# slurmd in $(SLURM_DIR), for `schedcore cook --scheduler slurmscheduler`. It prints the
# line that points Slurm's commands at it: eval "$$(make -s slurm-up)".
SLURM_DIR ?= /tmp/schedcore-slurm
slurm-up:
	$(PYTHON) -m tests.slurmlocal up --dir $(SLURM_DIR)

slurm-down:
	$(PYTHON) -m tests.slurmlocal down --dir $(SLURM_DIR)

clean:
	rm -rf $(VENV) build dist *.egg-info
