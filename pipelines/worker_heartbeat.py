"""Every worker says it is alive on its own, whether or not it runs steps.

:class:`HeartbeatStep` is a bootstep of the Celery worker (registered in
:mod:`pipelines.tasks`). In the worker's main process it writes the worker's
:class:`~pipelines.models.WorkerHeartbeat` row when the worker starts, then every
``STUDIO_WORKER_HEARTBEAT_INTERVAL`` seconds on the worker's own timer (the event loop's, or
Celery's timer thread with a broker that has no event loop: the timer Celery's own event
heartbeats use, so a worker whose main loop is stuck stops beating too), and marks it stopped
when the worker shuts down, warm or cold. A worker killed outright stops writing, and
``/metrics`` reports it stale after 3 intervals (``pipelines.monitoring``).

The main process forks the pool's processes (at start, and later to replace one), so it keeps
no database connection between beats: each beat closes the one it used. A database that
does not answer costs a warning in the log, never the worker.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from celery import bootsteps
from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import WorkerHeartbeat

logger = logging.getLogger(__name__)

STOP_WAIT_SECONDS = 2  # longest a shutdown waits for a heartbeat being written


class HeartbeatStep(bootsteps.StartStopStep):
    """Writes this worker's WorkerHeartbeat row at start, every interval, and at shutdown."""

    label = "Studio heartbeat"
    requires = ("celery.worker.components:Timer",)

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.entry = None
        self.running = False
        # Beats run on the timer's thread when there is no event loop; the lock keeps a beat
        # in flight from writing after the worker was marked stopped.
        self.lock = threading.Lock()

    def start(self, worker) -> None:
        self.name = worker.hostname
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        self.started_at = timezone.now()
        self.interval = settings.STUDIO_WORKER_HEARTBEAT_INTERVAL
        self.running = True
        self.beat(worker, first=True)
        self.entry = worker.timer.call_repeatedly(self.interval, self.beat, (worker,))
        logger.info("Heartbeat of %s every %g s.", self.name, self.interval)

    def beat(self, worker, first: bool = False) -> None:
        with self.lock:
            if not self.running:
                return
            try:
                if first:
                    WorkerHeartbeat.forget_old()
                WorkerHeartbeat.beat(
                    self.name,
                    hostname=self.hostname,
                    queues=list(worker.app.amqp.queues.consume_from),
                    pid=self.pid,
                    interval=self.interval,
                    started_at=self.started_at,
                )
            except Exception:  # noqa: BLE001 - the next beat tries again
                logger.warning("Could not write the heartbeat of %s.", self.name, exc_info=True)
            finally:
                connection.close()

    def stop(self, worker) -> None:
        if self.entry is not None:
            self.entry.cancel()
            self.entry = None
        if not self.running:
            return
        self.running = False  # a beat that has not started writing will not
        # A beat still writing (on the timer's thread) holds the lock; a shutdown waits for it
        # only briefly: a worker left unmarked shows stale, which is the truth about it.
        if not self.lock.acquire(timeout=STOP_WAIT_SECONDS):
            logger.warning(
                "A heartbeat of %s is still being written; not marked stopped.", self.name
            )
            return
        try:
            WorkerHeartbeat.mark_stopped(self.name, pid=self.pid, started_at=self.started_at)
        except Exception:  # noqa: BLE001 - it will show stale instead
            logger.warning("Could not mark %s stopped.", self.name, exc_info=True)
        finally:
            connection.close()
            self.lock.release()

    terminate = stop  # a cold shutdown marks it stopped too
