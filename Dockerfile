# One image for web (API), socket, worker, beat and flower; the command picks the role.
# bookworm: its postgresql-client is 15, the major version of compose's postgres:15 (below)
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
# pg_dump and pg_restore for `flask backup` (compose's backup service): of the server's major
# version, since a newer pg_dump's archives need not restore into an older server
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY oms ./oms
COPY workers ./workers
COPY workflows ./workflows
COPY migrations ./migrations
COPY templates ./templates
COPY celery_config.py wsgi.py ./
COPY deploy ./deploy
RUN pip install --no-cache-dir .
EXPOSE 5000 5001
CMD ["gunicorn", "-c", "deploy/gunicorn_api.py", "--bind", "0.0.0.0:5000", "wsgi:app"]
