# The fan-out postmortem workbook. `make` alone lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
PARAMS ?=
SEATS ?= 12
TRAINING_DIR ?= build/training
BENCH ?=
# An active virtual or conda environment (other than conda's base) is used as it is;
# otherwise everything goes into .venv, created on first use.
ifneq ($(VIRTUAL_ENV),)
  ENV_DIR := $(VIRTUAL_ENV)
else ifneq ($(and $(CONDA_PREFIX),$(filter-out base,$(CONDA_DEFAULT_ENV))),)
  ENV_DIR := $(CONDA_PREFIX)
else
  ENV_DIR := .venv
endif
BIN := $(ENV_DIR)/bin
STAMP := $(ENV_DIR)/.fanout-installed

# Offline and quiet: dbt must not phone home.
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help env workbook test test-fast notebooks bench training grade lint format data clean

help: ## list the targets
	@echo "make workbook   run every notebook and write the HTML report under build/ (PARAMS=file.yaml)"
	@echo "make test       run the tests: library, warehouse, CLI, notebooks (papermill + nbval)"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "error: Python 3.11 or newer is needed (PYTHON=$(PYTHON))"; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(ENV_DIR)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable '.[dev]'
	@touch $(STAMP)

env: $(STAMP) ## create the environment (.venv, or the active one) and install the project

workbook: $(STAMP) ## run all notebooks with papermill and write the report under build/
	$(BIN)/fanout workbook $(if $(PARAMS),--params $(PARAMS))

test: $(STAMP) ## run every test (unit, warehouse, CLI, notebooks, nbval on committed outputs)
	$(BIN)/python -m pytest -n 2 --dist loadgroup
	$(BIN)/python -m pytest --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider notebooks

test-fast: $(STAMP) ## the tests without the notebook runs
	$(BIN)/python -m pytest -m "not notebooks"

notebooks: $(STAMP) ## re-execute the notebooks in place at the defaults (the committed outputs)
	$(BIN)/fanout workbook --in-place

bench: $(STAMP) ## run the benchmarks (bench/), write bench/results/ and BENCHMARKS.md (BENCH=name runs one)
	$(BIN)/python -m bench $(BENCH)

training: $(STAMP) ## prepare a training session: a folder per seat (SEATS=12 or SEATS=names.csv) and a trainer sheet
	$(BIN)/fanout training prepare --seats $(SEATS) --out $(TRAINING_DIR)

grade: $(STAMP) ## grade the seats' submitted exercises under TRAINING_DIR
	$(BIN)/fanout grade $(TRAINING_DIR)

lint: $(STAMP) ## ruff lint and format check over lib, tests, bench and the notebooks
	$(BIN)/ruff check lib tests bench notebooks
	$(BIN)/ruff format --check lib tests bench notebooks

format: $(STAMP) ## format the code with ruff
	$(BIN)/ruff format lib tests bench notebooks
	$(BIN)/ruff check --fix lib tests bench notebooks

data: $(STAMP) ## regenerate the committed dataset in data/raw (byte-identical at the defaults)
	$(BIN)/fanout generate --committed-dataset

clean: ## remove build/ (generated data, DuckDB files, executed notebooks, report)
	rm -rf build
