# One-command workflows. `make run` and `make test` install .venv first when it is missing
# or older than the dependency files.
PYTHON_BIN := $(shell command -v python3.11 2>/dev/null)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEPS := pyproject.toml requirements-cli.txt requirements-deploy.txt requirements-tests.txt

.PHONY: install run test lint format check bench clean

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
	@$(PY) -m pip install --quiet -e . -r requirements-cli.txt -r requirements-deploy.txt -r requirements-tests.txt
	@$(PY) -m pip check
	@touch $(STAMP)

install: $(STAMP) ## create or refresh .venv

run: $(STAMP) ## run the example ETL (template_pipeline) locally
	$(PY) manage.py run pipelines.emd.template_pipeline.flows.flow

test: $(STAMP) ## run the test suite
	$(PY) -m pytest

lint: $(STAMP) ## ruff (lint + format check) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check: $(STAMP) ## import and validate every flow in the repo
	$(PY) manage.py check

bench: $(STAMP) ## list-projects on 500 generated projects
	$(PY) bench/list_projects.py

clean:
	rm -rf $(VENV) data
