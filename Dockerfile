# One image for web (API), socket, worker, beat and flower; the command picks the role.
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
COPY deploy ./deploy
RUN pip install --no-cache-dir .
EXPOSE 5000 5001
CMD ["gunicorn", "-c", "deploy/gunicorn_api.py", "--bind", "0.0.0.0:5000", "wsgi:app"]
