# One image for web (API), socket, worker, beat and flower; the command picks the role.
# The base is pinned by tag and digest, so a rebuild starts from the same system.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

# --- build: the dependencies from uv.lock, then the project as a wheel, into /opt/oms -------
FROM ${PYTHON_IMAGE} AS build
ENV UV_PROJECT_ENVIRONMENT=/opt/oms UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never UV_NO_CACHE=1
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /src
# The dependency layer: only the lock and pyproject.toml, so a code change does not rebuild it
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-install-project
COPY README.md wsgi.py celery_config.py ./
COPY oms ./oms
COPY workers ./workers
COPY workflows ./workflows
COPY templates ./templates
COPY migrations ./migrations
# The project itself, built as the wheel (templates and migrations inside it), not editable
RUN uv sync --locked --no-editable

# --- runtime: the venv and the gunicorn settings; no source, no build tools, no root --------
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/oms/bin:$PATH
# Exports are written by the worker and served by web on a volume (compose: `exports`); the
# folder belongs to the app's user, so a new named volume does too.
# pg_dump and pg_restore for `flask backup` (compose's backup service), of the server's major
# version: bookworm's client is 15, as compose's postgres:15, and a newer pg_dump's archives
# need not restore into an older server. The package name pins the major version; Debian's
# security updates of it are wanted, hence no exact version:
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --user-group --no-create-home oms \
    && mkdir -p /data/exports \
    && chown oms:oms /data/exports
COPY --from=build /opt/oms /opt/oms
WORKDIR /app
COPY deploy ./deploy
USER 10001:10001
EXPOSE 5000 5001
# The API's readiness (compose gives the other roles their own checks)
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/readyz', timeout=4)"]
CMD ["gunicorn", "-c", "deploy/gunicorn_api.py", "--bind", "0.0.0.0:5000", "wsgi:app"]
