# Territory Manager: one image for the web server, the Celery worker and Celery beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN useradd --create-home --uid 1000 app && mkdir -p /app/staticfiles && chown -R app /app
USER app

EXPOSE 8000
CMD ["gunicorn", "-c", "config/gunicorn_conf.py"]
