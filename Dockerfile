# The flow-run image: Python 3.11 and the runtime dependencies only, no repo code. Each
# registered flow carries its own code (a bundle of its import closure, imported from there
# at run time), so a code-only change needs no new image and the two can never mix; the tag
# is `manage.py image-tag`, a hash of [project].dependencies and this file's instructions.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# gcc and headers: pendulum 2.1.2 (pinned by prefect 1.4.1) builds from source. Unpinned on
# purpose: bookworm's security updates replace exact versions and would break the build.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependency layer: only pyproject.toml is copied, so it stays cached while code changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; extras = [d for k, v in p['optional-dependencies'].items() if k != 'all' for d in v]; print('\n'.join(p['dependencies'] + extras))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

RUN useradd --create-home --uid 1000 pipelines
USER 1000
