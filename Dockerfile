# The flow-run image: Python 3.11 and the runtime dependencies only, no repo code. Each
# registered flow carries its own code (a bundle of its import closure, imported from there
# at run time), so a code-only change needs no new image and the two can never mix; the tag
# is `manage.py image-tag`, a hash of requirements.lock and this file's instructions.

# Build stage: the compiler lives here only (pendulum 2.1.2, pinned by prefect 1.4.1, builds
# from source on Python 3.11).
FROM docker.io/library/python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Unpinned on purpose: bookworm's security updates replace exact versions and would break it.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*

# Exactly the lock's versions, the ones the tests ran with: --no-deps, so nothing is resolved
# here, and pip check proves the pinned set is whole. A venv of its own (installed into by the
# base image's pip) holds nothing else, so the run stage copies just it.
COPY requirements.lock /tmp/requirements.lock
RUN python -m venv --without-pip /opt/venv \
    && pip --python /opt/venv/bin/python install --no-deps -r /tmp/requirements.lock \
    && pip --python /opt/venv/bin/python check

# Run stage: the same base, the installed packages, no compiler, a non-root user.
FROM docker.io/library/python:3.11-slim-bookworm

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

COPY --from=build /opt/venv /opt/venv

RUN useradd --create-home --uid 1000 pipelines
USER 1000
WORKDIR /home/pipelines
