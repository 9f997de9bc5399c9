# One-command workflows. `make run` and `make test` install .venv first when it is missing
# or older than the dependency files.
PYTHON_BIN := $(shell command -v python3.11 2>/dev/null)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEPS := pyproject.toml requirements-cli.txt requirements-deploy.txt requirements-tests.txt
# The emulated BigQuery API the tests start lives in its own virtualenv (see its requirements).
BQ_VENV := .venv-bqemulator
BQ_STAMP := $(BQ_VENV)/.installed

.PHONY: install run test lint format check catalog bench bench-dump image register clean

$(STAMP): $(DEPS)
	@if [ -z "$(PYTHON_BIN)" ]; then \
		echo "error: python3.11 was not found on PATH. This project needs Python 3.11 exactly:"; \
		echo "  prefect 1.4.1 pins pendulum 2.1.2, which does not build on Python 3.12+."; \
		echo "  Install it (e.g. 'pyenv install 3.11' or 'apt install python3.11 python3.11-venv')."; \
		exit 1; \
	fi
	@echo "Installing into $(VENV) with $(PYTHON_BIN) ..."
	@test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e '.[all]' -r requirements-cli.txt -r requirements-deploy.txt -r requirements-tests.txt
	@$(PY) -m pip check
	@touch $(STAMP)

$(BQ_STAMP): requirements-bqemulator.txt
	@echo "Installing the BigQuery emulator into $(BQ_VENV) ..."
	@test -x $(BQ_VENV)/bin/python || $(PYTHON_BIN) -m venv $(BQ_VENV)
	@$(BQ_VENV)/bin/python -m pip install --quiet --upgrade pip
	@$(BQ_VENV)/bin/python -m pip install --quiet -r requirements-bqemulator.txt
	@touch $(BQ_STAMP)

install: $(STAMP) $(BQ_STAMP) ## create or refresh .venv (and the test emulators' own)

run: $(STAMP) ## run the example ETL (template_pipeline) locally
	$(PY) manage.py run pipelines.emd.template_pipeline.flows.flow

test: $(STAMP) $(BQ_STAMP) ## run the test suite
	$(PY) -m pytest

lint: $(STAMP) ## ruff (lint + format check) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/hadolint Dockerfile
	$(VENV)/bin/actionlint .github/workflows/*.yaml

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check: $(STAMP) ## import and validate every flow in the repo
	$(PY) manage.py check

catalog: $(STAMP) ## the static site of every flow, in build/catalog (open its index.html)
	$(PY) manage.py catalog

bench: $(STAMP) ## list-projects, register, check and catalog on 500 generated projects
	$(PY) bench/list_projects.py
	$(PY) bench/register.py
	$(PY) bench/catalog.py

bench-dump: $(STAMP) ## dump_db vs the native clients, partitioned files, dump_url (ROWS=2000000)
	$(PY) bench/dump_db.py --rows $(or $(ROWS),2000000) --skip-naive
	$(PY) bench/dump_db.py --rows $(or $(ROWS),2000000) --skip-naive --partitioned --runs 1
	$(PY) bench/dump_url.py --gb $(or $(GB),2)

IMAGE_REPOSITORY ?= $(PIPELINES_IMAGE_REPOSITORY)
image: $(STAMP) ## build (and with PUSH=1 push) the flow-run image, tagged by its dependencies
	@command -v docker >/dev/null || { echo "error: docker is not installed here"; exit 1; }
	@test -n "$(IMAGE_REPOSITORY)" || { echo "error: set PIPELINES_IMAGE_REPOSITORY (e.g. ghcr.io/<org>/pipelines)"; exit 1; }
	docker build -t $(IMAGE_REPOSITORY):$$($(PY) manage.py image-tag) .
	@if [ "$(PUSH)" = "1" ]; then docker push $(IMAGE_REPOSITORY):$$($(PY) manage.py image-tag); fi

# CD: `make register SINCE=<last deployed commit>`; ARGS=--staging for the development project.
register: $(STAMP)
	$(PY) manage.py register $(if $(SINCE),--since $(SINCE),--all) $(ARGS)

clean:
	rm -rf $(VENV) $(BQ_VENV) data .pipelines-cache
