"""Celery tasks of the execution engine: thin wrappers that load ids and call the domain.

Each is safe to receive twice: the domain functions check the state they expect under a
row lock before acting. Control tasks go to the "studio" queue, steps to the queue named
by their compute target.
"""

import logging

from celery import shared_task
from celery.signals import worker_init

from pipelines import engine, runner, scheduler, step_isolation, step_processes
from pipelines.worker_heartbeat import HeartbeatStep
from studio.celery import app

logger = logging.getLogger(__name__)

# Every worker writes its own heartbeat row, whether or not it runs steps.
app.steps["worker"].add(HeartbeatStep)


@worker_init.connect
def isolate_steps(sender=None, **_kwargs) -> None:
    """At worker start: close this process's /proc entries, take others' permissions off the
    server's files, let steps read the SDK's bytecode, kill what steps of a killed worker
    left, and say loudly what this worker cannot do to keep steps away from the server."""
    step_processes.make_non_dumpable()
    step_isolation.secure_server_folders()
    step_isolation.share_sdk_bytecode()
    account = step_isolation.step_account()
    if account is not None:
        step_processes.kill_leftovers(account.uid)
        logger.info("Steps run as %s (uid %d).", account.name, account.uid)
    warnings = step_isolation.isolation_warnings()
    pool = str(getattr(sender, "pool_cls", "") or "prefork")
    if not any(kind in pool.lower() for kind in ("prefork", "solo")):
        warnings.append(
            f"The {pool} pool runs several steps in one process: when one ends, what the "
            "others started in other sessions may be killed with it. Use prefork or solo."
        )
    for warning in warnings:
        logger.warning("!!! %s", warning)


@shared_task(name="pipelines.tasks.run_step", acks_late=True, bind=True)
def run_step(self, step_run_id: int, attempt: int) -> None:
    """Run one attempt of one step on this worker, then the steps after it that became
    ready for the same compute target (no broker round trip between them)."""
    if not self.request.is_eager:  # a worker's process, not a caller running it inline
        step_processes.become_step_reaper()
    runner.execute_step(step_run_id, attempt, worker=self.request.hostname or "")


@shared_task(name="pipelines.tasks.dispatch_waiting_runs")
def dispatch_waiting_runs() -> int:
    """Send runs that could not be sent when submitted (beat schedule)."""
    return engine.dispatch_waiting_runs()


@shared_task(name="pipelines.tasks.reap_lost_steps")
def reap_lost_steps() -> int:
    """Retry or fail steps whose worker stopped beating (beat schedule)."""
    return scheduler.reap_lost_steps()
