# Attention, step by step. `make lab` to learn, `make test` to check everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
PORT ?= 8888
# JupyterLab refuses to run as root (containers, CI) unless told.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: install lab test lint unit nbval execute format clean

install: $(STAMP)

# Re-runs only when pyproject.toml changes. Warming matplotlib's font cache here keeps its
# one-off "building the font cache" notice out of the first notebook that plots.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -c "import matplotlib.pyplot"
	touch $(STAMP)

lab: install
	@echo "Starting JupyterLab on notebooks/. Open the URL printed below (http://127.0.0.1:$(PORT)/lab?token=...)."
	$(BIN)/jupyter lab --notebook-dir=notebooks --ip=127.0.0.1 --port=$(PORT) --no-browser $(ALLOW_ROOT)

test: install lint unit nbval

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Unit, property and hygiene tests (and the browser tests, which live under tests/ too).
unit: install
	$(BIN)/pytest tests

# Strict nbval: every stored output must be reproduced.
nbval: install
	$(BIN)/pytest $(NBVAL) $(NOTEBOOKS)

# Re-run every lesson top to bottom in a fresh kernel and store its outputs.
execute: install
	@for nb in $(NOTEBOOKS); do \
		echo "executing $$nb"; \
		$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
			--ExecutePreprocessor.timeout=900 "$$nb" || exit 1; \
	done

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf build .pytest_cache .ruff_cache .hypothesis

.PHONY: student html

# Student copies in build/student/: solutions removed, outputs cleared, exercises left open.
student: install
	$(BIN)/python -m tools.classroom student

# Offline HTML of the executed lessons, with an index, in build/html/.
html: install
	$(BIN)/python -m tools.classroom html
