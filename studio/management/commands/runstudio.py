"""Start the whole studio in the foreground: web server, Celery worker and Celery beat."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run web (gunicorn), a Celery worker and Celery beat together; Ctrl-C stops all."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("STUDIO_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--concurrency", type=int, default=int(os.environ.get("WORKER_CONCURRENCY", 4))
        )

    def handle(self, *args, bind, concurrency, **options):
        bin_dir = os.path.dirname(sys.executable)
        queues = ",".join(["studio", *settings.STUDIO_COMPUTE_TARGETS])

        def tool(name, *args):
            return [os.path.join(bin_dir, name), *args]

        commands = {
            "web": tool("gunicorn", "studio.wsgi", "--bind", bind, "--workers", "2",
                        "--threads", "4", "--access-logfile", "-"),
            "worker": tool("celery", "-A", "studio", "worker", "--loglevel", "INFO", "-Q", queues,
                           "--concurrency", str(concurrency), "--hostname", "studio@%h"),
            "beat": tool("celery", "-A", "studio", "beat", "--loglevel", "INFO",
                         "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME),
        }  # fmt: skip
        # Steps log metrics through this web server, with their run token.
        step_api = settings.STUDIO_STEP_API_URL or f"http://{bind}"
        processes = {}
        for name, command in commands.items():
            env = {**os.environ, "STUDIO_STEP_API_URL": step_api}
            processes[name] = subprocess.Popen(command, start_new_session=True, env=env)
            self.stdout.write(f"started {name} (pid {processes[name].pid})")
        self.stdout.write(
            self.style.SUCCESS(f"Pipeline Studio is up at http://{bind}/ - Ctrl-C stops it.")
        )

        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        while not stopping:
            for name, process in processes.items():
                if process.poll() is not None:
                    self.stderr.write(
                        f"{name} exited with {process.returncode}; stopping the rest."
                    )
                    exit_code = 1
                    stopping = True
                    break
            time.sleep(0.5)
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.stdout.write("stopped")
        sys.exit(exit_code)
