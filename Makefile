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

.PHONY: help env engines workbook test test-fast notebooks bench training grade lint format data clean

help: ## list the targets
	@echo "make workbook   run every notebook and write the HTML report under build/ (PARAMS=file.yaml)"
	@echo "make test       run the tests: library, warehouse, engines (PostgreSQL, Spark), CLI, notebooks (papermill + nbval)"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "error: Python 3.11 or newer is needed (PYTHON=$(PYTHON))"; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(ENV_DIR)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable '.[dev,engines]'
	@touch $(STAMP)

env: $(STAMP) ## create the environment (.venv, or the active one) and install the project

# The engine tests start their own PostgreSQL cluster and Spark session; the server programs
# and Java come from Debian, installed here when missing and allowed (root, apt-get).
# Without them the engine tests skip, each with one line saying why.
ENGINE_PACKAGES := postgresql openjdk-17-jre-headless
engines: ## install PostgreSQL and Java for the engine tests when missing (Debian, as root)
	@have_pg=no; have_java=no; \
	{ command -v initdb || ls /usr/lib/postgresql/*/bin/initdb; } >/dev/null 2>&1 && have_pg=yes; \
	{ command -v java || test -x "$$JAVA_HOME/bin/java"; } >/dev/null 2>&1 && have_java=yes; \
	if [ $$have_pg$$have_java = yesyes ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing $(ENGINE_PACKAGES) (Debian) for the engine tests"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq >/dev/null && \
		apt-get install -y -qq --no-install-recommends $(ENGINE_PACKAGES) >/dev/null; \
	else \
		echo "note: PostgreSQL ($$have_pg) or Java ($$have_java) missing and not installable here (root and apt-get needed): the engine tests will skip"; \
	fi

workbook: $(STAMP) ## run all notebooks with papermill and write the report under build/
	$(BIN)/fanout workbook $(if $(PARAMS),--params $(PARAMS))

test: $(STAMP) engines ## run every test (unit, warehouse, engines, CLI, notebooks, nbval on committed outputs)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not engines"
	@# the engine tests in a session of their own: PostgreSQL, then Spark, each started once
	@# (with pytest 9, xdist's xdist_group no longer keeps a group on one worker)
	$(BIN)/python -m pytest -m engines
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
