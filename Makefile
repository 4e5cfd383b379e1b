# Every target sets up what it needs: a virtual environment in .venv with the CPU build of torch
# (`pip install torch==2.13.0` takes it from local disk; an unpinned torch pulls a CUDA build).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)

# -rs prints the reason of every skipped test.
PYTEST = $(BIN)/python -m pytest -q -rs
# The docs build runs every example in its quick mode to render outputs and figures (about
# 10 s of examples on 2 cores); DOCS_RUN_EXAMPLES=0 renders the code only.
DOCS_RUN_EXAMPLES = 1

.PHONY: install demo test test-all lint docs bench clean

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/skpose3d demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(PYTEST)

test-all: lint
	$(PYTEST) --runslow

docs: install
	$(BIN)/pip install -q -e ".[docs]"
	SKPOSE3D_DOCS_RUN_EXAMPLES=$(DOCS_RUN_EXAMPLES) \
		$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

bench: install
	$(BIN)/python benchmarks/accuracy.py
	$(BIN)/python benchmarks/speed.py

clean:
	rm -rf $(VENV) build dist *.egg-info
