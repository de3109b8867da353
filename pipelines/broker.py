"""Publishing engine tasks to the Celery broker, without ever hanging on a broker that is down.

``inline_execution()`` runs the tasks in the calling process instead (the demo seed uses it so
its run is Finished at once).
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from kombu import pools

from studio.celery import app

logger = logging.getLogger(__name__)

RUN_STEP_TASK = "pipelines.tasks.run_step"

_inline = ContextVar("inline_execution", default=False)


@contextmanager
def inline_execution():
    """Within this block runs execute in this process instead of being sent to workers."""
    token = _inline.set(True)
    try:
        yield
    finally:
        _inline.reset(token)


_pools: dict[tuple[int, str], object] = {}


def _connection_pool(url: str):
    """kombu's connection pool for ``url``, looked up once per process: building the
    Connection that keys kombu's pool group costs more than the publish itself."""
    key = (os.getpid(), url)  # A forked child must not reuse its parent's sockets.
    pool = _pools.get(key)
    if pool is None:
        pool = _pools[key] = pools.connections[app.connection_for_write(url)]
    return pool


def send_task(name: str, args: list, queue: str) -> bool:
    """Publish one task; False (logged) when the broker cannot be reached."""
    return send_tasks(name, [(args, queue)]) == 1


def send_tasks(name: str, calls: list[tuple[list, str]]) -> int:
    """Publish one task per ``(args, queue)`` of ``calls``, in order, over one connection;
    returns how many were sent: the first failure (logged) stops the rest.

    Connections to ``settings.CELERY_BROKER_URL`` come from kombu's pool; a publish is not
    retried and connecting is tried twice, so a broker that is down costs well under a
    second instead of hanging. A run's thousands of first steps cost one connection check.
    """
    if not calls:
        return 0
    if _inline.get():
        for args, _queue in calls:
            app.tasks[name].apply(args=args)
        return len(calls)
    sent = 0
    try:
        pool = _connection_pool(settings.CELERY_BROKER_URL)
        with pool.acquire(block=True, timeout=10) as connection:
            try:
                connection.ensure_connection(max_retries=1, interval_start=0.2, interval_step=0.2)
                producer = app.amqp.Producer(connection, auto_declare=False)
                for args, queue in calls:
                    app.send_task(name, args=args, queue=queue, producer=producer, retry=False)
                    sent += 1
            except Exception:
                connection.collect()  # Never hand a broken connection back to the pool.
                raise
    except Exception:  # noqa: BLE001 - any broker failure means "not sent, try later"
        args = calls[sent][0]
        logger.warning("could not send %s%s to the broker", name, tuple(args), exc_info=True)
    return sent
