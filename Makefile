# One-command workflows. `make run` and `make test` install .venv first when it is missing
# or older than the dependency files.
PYTHON_BIN := $(shell command -v python3.11 2>/dev/null)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# What the virtualenvs and the image install: exact versions from the lock files (`make lock`).
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
BQ_LOCK := requirements-bqemulator.lock
DEPS := pyproject.toml $(LOCK) $(DEV_LOCK)
# The emulated BigQuery API the tests start lives in its own virtualenv (see its requirements).
BQ_VENV := .venv-bqemulator
BQ_STAMP := $(BQ_VENV)/.installed

.PHONY: install lock run test lint format check catalog docs pages bench bench-dump bench-pods image register clean

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
	@$(PY) -m pip install --quiet -r $(DEV_LOCK)
	@$(PY) -m pip install --quiet --no-deps -e .
	@$(PY) -m pip check
	@touch $(STAMP)

$(BQ_STAMP): $(BQ_LOCK)
	@echo "Installing the BigQuery emulator into $(BQ_VENV) ..."
	@test -x $(BQ_VENV)/bin/python || $(PYTHON_BIN) -m venv $(BQ_VENV)
	@$(BQ_VENV)/bin/python -m pip install --quiet --upgrade pip
	@$(BQ_VENV)/bin/python -m pip install --quiet -r $(BQ_LOCK)
	@touch $(BQ_STAMP)

install: $(STAMP) $(BQ_STAMP) ## create or refresh .venv (and the test emulators' own)

# The one command that refreshes the pins: the image's (runtime dependencies and every extra),
# the project venv's (the same pins plus the CLI, CD and test tools) and the emulator venv's.
# Each run resolves anew from PyPI; commit the three files together.
UV_COMPILE = $(VENV)/bin/uv pip compile --quiet --python-version 3.11 --no-header --upgrade
lock: ## re-resolve every dependency into the lock files
	@test -x $(VENV)/bin/uv || { test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV); $(PY) -m pip install --quiet uv; }
	SSL_CERT_FILE=$${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt} $(UV_COMPILE) pyproject.toml --extra all -o $(LOCK)
	SSL_CERT_FILE=$${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt} $(UV_COMPILE) pyproject.toml --extra all requirements-cli.txt requirements-deploy.txt requirements-tests.txt -c $(LOCK) -o $(DEV_LOCK)
	SSL_CERT_FILE=$${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt} $(UV_COMPILE) requirements-bqemulator.txt -o $(BQ_LOCK)

run: $(STAMP) ## run the example ETL (template_pipeline) locally
	$(PY) manage.py run pipelines.emd.template_pipeline.flows.flow

test: $(STAMP) $(BQ_STAMP) ## run the test suite
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP) ## ruff (lint + format check) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/hadolint Dockerfile
	$(VENV)/bin/actionlint .github/workflows/*.yaml

# Formatting first: a lint rule --fix cannot fix (a long line) must not stop the formatting.
format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check: $(STAMP) ## import and validate every flow in the repo
	$(PY) manage.py check

catalog: docs ## the static site of every flow, with the docs under docs/, in build/catalog
	$(PY) manage.py catalog --docs build/docs

docs: $(STAMP) ## the docs/ site, in build/docs; --strict: a broken link or anchor fails
	$(VENV)/bin/mkdocs build --strict --quiet

pages: catalog ## what CD publishes: the catalog, with the docs under docs/ (build/pages)
	rm -rf build/pages && cp -r build/catalog build/pages

bench: $(STAMP) ## list-projects, register, check, catalog on 500 projects; a watchdog pass
	$(PY) bench/list_projects.py
	$(PY) bench/register.py
	$(PY) bench/catalog.py
	$(PY) bench/watchdog.py

bench-dump: $(STAMP) ## dump_db vs the native clients, partitioned files, dump_url (ROWS=2000000)
	$(PY) bench/dump_db.py --rows $(or $(ROWS),2000000) --skip-naive
	$(PY) bench/dump_db.py --rows $(or $(ROWS),2000000) --skip-naive --partitioned --runs 1
	$(PY) bench/dump_url.py --gb $(or $(GB),2)

# The flow-run image, with docker (when its engine answers) or podman. IMAGE names it; by
# default <PIPELINES_IMAGE_REPOSITORY or localhost/pipelines>:<manage.py image-tag>. With
# PIP_CERT set (pip trusting a proxy's CA), podman mounts that bundle over pip's own for the
# build only: the image keeps its own.
bench-pods: $(STAMP) $(BQ_STAMP) ## the image's size; a flow's pod run against run_local (podman)
	$(PY) bench/pods.py

IMAGE_REPOSITORY ?= $(or $(PIPELINES_IMAGE_REPOSITORY),localhost/pipelines)
IMAGE_ENGINE ?= $(shell if docker info >/dev/null 2>&1; then echo docker; elif command -v podman >/dev/null; then echo podman; fi)
PIP_CERTIFI := /usr/local/lib/python3.11/site-packages/pip/_vendor/certifi/cacert.pem
image: $(STAMP) ## build (and with PUSH=1 push) the flow-run image, tagged by its dependencies
	@test -n "$(IMAGE_ENGINE)" || { echo "error: make image needs docker (with its engine running) or podman; neither is usable here"; exit 1; }
	@if [ "$(PUSH)" = "1" ] && [ -z "$(PIPELINES_IMAGE_REPOSITORY)$(IMAGE)" ]; then echo "error: PUSH=1 needs PIPELINES_IMAGE_REPOSITORY (e.g. ghcr.io/<org>/pipelines)"; exit 1; fi
	@image="$(or $(IMAGE),$(IMAGE_REPOSITORY):$$($(PY) manage.py image-tag))" \
	&& echo "Building $$image with $(IMAGE_ENGINE) ..." \
	&& $(IMAGE_ENGINE) build $(if $(and $(PIP_CERT),$(filter podman,$(IMAGE_ENGINE))),-v $(PIP_CERT):$(PIP_CERTIFI):ro) -t $$image . \
	&& $(IMAGE_ENGINE) image inspect --format 'Built '"$$image"': {{.Size}} bytes' $$image \
	&& if [ "$(PUSH)" = "1" ]; then $(IMAGE_ENGINE) push $$image; fi

# CD: `make register SINCE=<last deployed commit>`; ARGS=--staging for the development project.
register: $(STAMP)
	$(PY) manage.py register $(if $(SINCE),--since $(SINCE),--all) $(ARGS)

clean:
	rm -rf $(VENV) $(BQ_VENV) data .pipelines-cache
