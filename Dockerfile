# Production image for Pipeline Studio. The same image runs each role:
#   web:    (default) gunicorn studio.wsgi
#   worker: celery -A studio worker --concurrency 4   (no -Q: every compute target)
#   beat:   celery -A studio beat
# Each role has its own health check (compose.yaml): web `python -m studio.healthcheck`,
# worker `celery -A studio inspect ping -d celery@$HOSTNAME`, none for beat and migrate.
# The worker runs as root only to start each step as the unprivileged studio-step account
# (STUDIO_STEP_USER), optionally inside bubblewrap (STUDIO_STEP_SANDBOX=bwrap; the worker
# container then needs --security-opt seccomp=unconfined or a profile allowing user
# namespaces). studio-step is in no group of the server's, so the files the server keeps
# (umask 007, group studio) are closed to step code.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DEBUG=0 \
    STUDIO_VAR_DIR=/var/lib/studio \
    STATIC_ROOT=/app/staticfiles \
    HOME=/home/studio \
    STUDIO_SDK_WHEEL_DIR=/app/sdk-wheels

RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system studio && useradd --system --gid studio --home /app studio \
    && useradd --system --user-group --no-create-home --shell /usr/sbin/nologin studio-step
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# collectstatic and build_sdk (the SDK wheel served at /sdk/ and its dependencies' wheels, so
# pip on a machine that reaches only the studio finds everything; the code folder is read-only
# at run time) need settings to import; a throwaway key is enough for those two commands. The
# settings set umask 007; the code and static files must stay readable by the studio user and
# the step account. The data folder is the studio group's, with setgid so files a root worker
# writes stay in that group.
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput \
    && SECRET_KEY=build-only python manage.py build_sdk --dependencies \
    && chmod -R a+rX /app \
    && mkdir -p /var/lib/studio && chown -R studio:studio /var/lib/studio \
    && chmod 2771 /var/lib/studio

# A writable home of its own (the account's home above is the root-owned /app).
RUN mkdir -p /home/studio && chown studio:studio /home/studio && usermod --home /home/studio studio

USER studio
EXPOSE 8000
CMD ["gunicorn", "studio.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--access-logfile", "-", "--no-control-socket"]
