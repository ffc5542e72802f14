# One image for web, worker, beat and flower; the command picks the role.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY oms ./oms
COPY workers ./workers
COPY workflows ./workflows
COPY migrations ./migrations
COPY templates ./templates
COPY celery_config.py wsgi.py ./
RUN pip install --no-cache-dir .
EXPOSE 5000
CMD ["gunicorn", "--bind", "0.0.0.0:5000", "--worker-class", "gthread", "--workers", "1", "--threads", "32", "--limit-request-line", "8190", "wsgi:app"]
