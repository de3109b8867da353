# Production image for Pipeline Studio. The same image runs each role:
#   web:    (default) gunicorn studio.wsgi
#   worker: celery -A studio worker --concurrency 4   (no -Q: every compute target)
#   beat:   celery -A studio beat
# Each role has its own health check (compose.yaml): web `python -m studio.healthcheck`,
# worker `celery -A studio inspect ping -d celery@$HOSTNAME`, none for beat and migrate.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DEBUG=0 \
    STUDIO_VAR_DIR=/var/lib/studio \
    STATIC_ROOT=/app/staticfiles \
    HOME=/home/studio \
    STUDIO_SDK_WHEEL_DIR=/app/sdk-wheels

RUN groupadd --system studio && useradd --system --gid studio --home /app studio
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# collectstatic and build_sdk (the SDK wheel served at /sdk/; the code folder is read-only at run
# time) need settings to import; a throwaway key is enough for those two commands.
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput \
    && SECRET_KEY=build-only python manage.py build_sdk \
    && mkdir -p /var/lib/studio && chown -R studio:studio /var/lib/studio

# A writable home of its own (the account's home above is the root-owned /app).
RUN mkdir -p /home/studio && chown studio:studio /home/studio && usermod --home /home/studio studio

USER studio
EXPOSE 8000
CMD ["gunicorn", "studio.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--access-logfile", "-", "--no-control-socket"]
