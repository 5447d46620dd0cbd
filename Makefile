# Attention, step by step. `make lab` to learn, `make test` to check everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
# The versions the stored notebook outputs were made with (see README, "Updating the versions").
CONSTRAINTS := requirements/constraints.txt
# TORCH=cpu installs PyTorch's CPU-only build (about 1 GB instead of about 5 GB on Linux x86-64).
TORCH ?= default
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
LAB_STAMP := $(VENV)/.installed-lab
DEV_STAMP := $(VENV)/.installed-dev
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
# A second numeric path: AVX2 kernels in ATen and oneDNN, one thread. Stored outputs must hold on
# it too, so that a learner's laptop or the next CI machine (another CPU) reproduces them.
SECOND_PATH := ATEN_CPU_CAPABILITY=avx2 DNNL_MAX_CPU_ISA=AVX2 OMP_NUM_THREADS=1
PORT ?= 8888
# glibc keeps freed memory instead of returning large blocks to the OS: without this every fresh
# 64 MB tensor is page-faulted in again (lesson 07, appendix A). Kernels inherit it from the lab
# server and from pytest; `python -m tutorial_utils.bench` sets it for itself. The values are
# bench/allocator.py's TUNED_ALLOCATOR (tests/test_makefile.py keeps the two equal).
ALLOCATOR := MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=68719476736
# JupyterLab refuses to run as root (containers, CI) unless told.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: install install-lab lab test lint unit nbval nbval-native nbval-second-path execute bench \
	format lock clean student html nbgrader zh translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# PyTorch first when a CPU-only build is asked for; the pinned version is the same either way.
define install_torch
	$(if $(filter cpu,$(TORCH)),$(PIP) install --quiet -c $(CONSTRAINTS) \
		--index-url $(TORCH_CPU_INDEX) torch torchvision)
endef

# Runtime + JupyterLab: what a learner needs. Warming matplotlib's font cache here keeps its
# one-off "building the font cache" notice out of the first notebook that plots.
$(LAB_STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(install_torch)
	$(PIP) install --quiet -c $(CONSTRAINTS) -e ".[lab]"
	$(BIN)/python -c "import matplotlib.pyplot"
	touch $@

# Developer tools on top: nbval, pytest, hypothesis, playwright, ruff, nbconvert. Then
# torchreid's hacnn.py (one file, from its PyPI source release, into .cache/): the reference
# the equivalence tests and the benchmark's "x base" column compare against.
$(DEV_STAMP): $(LAB_STAMP)
	$(PIP) install --quiet -c $(CONSTRAINTS) -e ".[dev]"
	$(BIN)/python -c "from tutorial_utils.hacnn.torchreid_reference import fetch_torchreid_hacnn as f; f()" \
		|| echo "torchreid's hacnn.py not fetched: its tests skip, the bench compares with eager"
	touch $@

install-lab: $(LAB_STAMP)
install: $(DEV_STAMP)

lab: install-lab
	@echo "Starting JupyterLab on notebooks/. Open the URL printed below (http://127.0.0.1:$(PORT)/lab?token=...)."
	$(ALLOCATOR) $(BIN)/jupyter lab --notebook-dir=notebooks --ip=127.0.0.1 --port=$(PORT) --no-browser $(ALLOW_ROOT)

test: install lint unit translations nbval

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Unit, property and hygiene tests (and the browser tests, which live under tests/ too).
unit: install
	$(BIN)/pytest tests

# Every translated cell in step with its English cell, and notebooks/zh/ built from both
# (python -m tools.translations status lists what is in step, outdated and missing).
translations: install
	$(BIN)/python -m tools.translations check

# The Chinese edition: notebooks/zh/ (the English code and outputs with the translated prose
# from translations/zh/) and README.zh-CN.md's lesson map. Run after editing a lesson.
zh: install
	$(BIN)/python -m tools.translations build

# Strict nbval, twice: every stored output must be reproduced on the native path and the second.
nbval: nbval-native nbval-second-path

nbval-native: install
	$(ALLOCATOR) $(BIN)/pytest $(NBVAL) $(NOTEBOOKS)

nbval-second-path: install
	$(ALLOCATOR) $(SECOND_PATH) $(BIN)/pytest $(NBVAL) $(NOTEBOOKS)

# Re-run lessons top to bottom, each in a fresh kernel, and store their outputs
# (every lesson, or one: make execute NB=notebooks/08_does_attention_help.ipynb).
NB ?= $(NOTEBOOKS)
execute: install
	$(BIN)/python -m tools.execute $(NB)

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Record the versions installed now as the constraints every install uses (after a bump and
# `make execute`, see README).
lock: install
	@{ echo "# Versions the stored notebook outputs were made with. Made by 'make lock'; see README."; \
	   $(PIP) freeze --exclude-editable --all | grep -v -E '^(pip|setuptools|wheel)=='; \
	 } > $(CONSTRAINTS)
	@echo "wrote $(CONSTRAINTS)"

# The speed report: every row side by side, defaults included (the first run on a machine
# compiles HA-CNN once, a few minutes; later runs load it). JSON into build/bench.json.
bench: install
	mkdir -p build
	$(BIN)/python -m tutorial_utils.bench --json build/bench.json

clean:
	rm -rf build .pytest_cache .ruff_cache .hypothesis

# Student copies in classroom/student/ and, in Chinese, classroom/student-zh/ (committed, so a
# hub can pull them with nbgitpuller): solutions removed, outputs cleared, exercises left open,
# the linked docs copied alongside.
student: install
	$(BIN)/python -m tools.classroom student
	$(BIN)/python -m tools.classroom student --lang zh

# Offline HTML of the executed lessons, with an index, the linked docs and MathJax, in build/html/
# (the Chinese edition in build/html/zh/; each index links to the other).
html: install
	$(BIN)/python -m tools.classroom html
	$(BIN)/python -m tools.classroom html --lang zh

# An nbgrader course directory in build/nbgrader/ (Chinese: build/nbgrader-zh/): one assignment
# per lesson with exercises, solutions between BEGIN/END SOLUTION markers, autograded checks.
nbgrader: install
	$(BIN)/python -m tools.classroom nbgrader
	$(BIN)/python -m tools.classroom nbgrader --lang zh
