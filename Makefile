# `make run` and `make test` work on a fresh machine: they create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Re-install only when the project's dependencies change; otherwise `make setup` is a no-op.
DEPS := $(shell cksum pyproject.toml | cut -d' ' -f1)
STAMP := $(VENV)/.installed-$(DEPS)
DEV_STAMP := $(VENV)/.installed-dev-$(DEPS)

.PHONY: setup setup-dev run test fuzz notebook clean
# What `make run` and the commands need.
setup: $(STAMP)
# ... and what the tests need besides: the dev extra (pytest, a PostgreSQL server, the notebook runner, mlflow ui).
setup-dev: $(DEV_STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# Pinned to the wheels this machine holds on disk (README, "What make run does").
	$(BIN)/python -m pip install -q torch==2.14.1 torchvision==0.29.1
	# setuptools' informational note on editable installs that map a folder (conf/ -> cnnexp.conf): 10 lines of noise.
	PYTHONWARNINGS='ignore:Editable installation' $(BIN)/python -m pip install -q -e .
	rm -f $(VENV)/.installed-*
	touch $@

$(DEV_STAMP): $(STAMP)
	PYTHONWARNINGS='ignore:Editable installation' $(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-dev-*
	touch $@

run: setup
	$(BIN)/cnnexp-train

test: setup-dev
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# A long config-fuzzing campaign (tests/fuzz_campaign.py): 10,000 configs in 2 processes, ~1 h on 2 cores.
fuzz: setup-dev
	$(BIN)/python -m tests.fuzz_campaign --examples 5000 --seed 1 & \
	$(BIN)/python -m tests.fuzz_campaign --examples 5000 --seed 2; s2=$$?; wait $$!; s1=$$?; test $$s1 -eq 0 -a $$s2 -eq 0

# The lecture's companion notebook in JupyterLab (your browser opens it). JupyterLab is installed into .venv on
# first use only (41 packages, ~11 s and ~100 MB here): the commands, the tests and CI do not need it.
notebook: setup
	test -x $(BIN)/jupyter-lab || $(BIN)/python -m pip install -q 'jupyterlab>=4.4'
	$(BIN)/jupyter-lab notebooks/lecture-13.ipynb

clean:
	rm -rf outputs multirun .pytest_cache
