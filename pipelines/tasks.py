"""Celery tasks of the execution engine: thin wrappers that load ids and call the domain.

Each is safe to receive twice: the domain functions check the state they expect under a
row lock before acting. Control tasks go to the "studio" queue, steps to the queue named
by their compute target.
"""

from celery import shared_task

from pipelines import engine, runner, scheduler


@shared_task(name="pipelines.tasks.run_step", acks_late=True, bind=True)
def run_step(self, step_run_id: int, attempt: int) -> None:
    """Run one attempt of one step on this worker, then the steps after it that became
    ready for the same compute target (no broker round trip between them)."""
    runner.execute_step(step_run_id, attempt, worker=self.request.hostname or "")


@shared_task(name="pipelines.tasks.dispatch_waiting_runs")
def dispatch_waiting_runs() -> int:
    """Send runs that could not be sent when submitted (beat schedule)."""
    return engine.dispatch_waiting_runs()


@shared_task(name="pipelines.tasks.reap_lost_steps")
def reap_lost_steps() -> int:
    """Retry or fail steps whose worker stopped beating (beat schedule)."""
    return scheduler.reap_lost_steps()
