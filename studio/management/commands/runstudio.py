"""Start the whole studio in the foreground, as a service would: web server, Celery worker
and Celery beat.

The three run with ``DEBUG=0`` (``DEBUG=1`` in the environment is a developer's opt-in)
and a secret key generated once into ``<var>/secret_key`` (mode 0600). Bound to a loopback
address they accept plain HTTP (no SSL redirect, secure-only cookies or HSTS); bound to
any other address they expect a TLS proxy in front. "up" is printed once the web answers
its health check and the worker is ready. Ctrl-C, SIGTERM or SIGHUP (a closed terminal)
stop all three within a few seconds: quick shutdown for gunicorn, cold shutdown for the
worker, then SIGKILL to each process group still there after a short grace.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.core.management.base import BaseCommand

DEFAULT_BIND = "127.0.0.1:8000"
STOP_GRACE_SECONDS = 3
STOP_SIGNALS = {"web": signal.SIGQUIT, "worker": signal.SIGQUIT, "beat": signal.SIGTERM}


def split_bind(bind: str) -> tuple[str, str]:
    host, _, port = bind.rpartition(":")
    return host.strip("[]") or "0.0.0.0", port  # noqa: S104 - gunicorn's meaning of ":8000"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def studio_address(bind: str) -> str:
    """The address to print for a gunicorn ``--bind`` value (all interfaces: 127.0.0.1)."""
    host, port = split_bind(bind)
    if host in ("0.0.0.0", "::"):  # noqa: S104
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def secret_key_file() -> Path:
    """``<var>/secret_key``, made once with a random key and readable by its owner only."""
    path = Path(settings.VAR_DIR) / "secret_key"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path  # another start made it a moment ago
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    os.chmod(path, 0o600)
    return path


def child_environment(bind: str) -> dict[str, str]:
    """The environment of web, worker and beat: production settings unless DEBUG=1."""
    env = dict(os.environ)
    env.setdefault("DEBUG", "0")
    env["STUDIO_BIND"] = bind
    env["STUDIO_VAR_DIR"] = str(settings.VAR_DIR)
    # Steps log metrics through this web server, with their run token.
    env["STUDIO_STEP_API_URL"] = settings.STUDIO_STEP_API_URL or f"http://{bind}"
    if not env.get("SECRET_KEY"):
        env.setdefault("SECRET_KEY_FILE", str(secret_key_file()))
    host, _ = split_bind(bind)
    if not env.get("ALLOWED_HOSTS"):
        names = ["127.0.0.1", "localhost", "[::1]"]
        if host not in ("0.0.0.0", "::") and host not in names:  # noqa: S104
            names.insert(0, f"[{host}]" if ":" in host else host)
        env["ALLOWED_HOSTS"] = ",".join(names)
    if is_loopback(host):
        # Plain HTTP on this machine only: nothing to redirect to and no TLS to pin.
        for name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
            env.setdefault(name, "0")
        env.setdefault("SECURE_HSTS_SECONDS", "0")
    return env


def static_files_stale() -> bool:
    """True when collectstatic has never run or a static file changed since."""
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    return any(
        os.path.getmtime(storage.path(path)) > built
        for finder in get_finders()
        for path, storage in finder.list([])
    )


def web_answers(bind: str) -> bool:
    address = studio_address(bind)
    request = urllib.request.Request(f"{address}/healthz", headers={"Host": address[7:]})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
    try:
        with opener.open(request, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class Child:
    """One of web, worker and beat, in its own process group."""

    def __init__(self, name: str, command: list[str], env: dict, watch_for: str = ""):
        self.name = name
        self.ready = threading.Event()
        if not watch_for:
            self.ready.set()
        self.process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if watch_for else None,
            stderr=subprocess.STDOUT if watch_for else None,
            start_new_session=True,
        )
        if watch_for:
            threading.Thread(target=self._relay, args=(watch_for,), daemon=True).start()

    def _relay(self, watch_for: str) -> None:
        """Pass the output on (it keeps flowing if the terminal is gone) and notice
        ``watch_for`` in it."""
        for line in iter(self.process.stdout.readline, b""):
            if watch_for.encode() in line:
                self.ready.set()
            try:
                sys.stderr.buffer.write(line)
                sys.stderr.flush()
            except (OSError, ValueError):
                pass

    def running(self) -> bool:
        return self.process.poll() is None

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


class Command(BaseCommand):
    help = (
        "Run web (gunicorn), a Celery worker and Celery beat together; Ctrl-C, SIGTERM or "
        "SIGHUP stop all three."
    )

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("STUDIO_BIND", DEFAULT_BIND))
        parser.add_argument(
            "--concurrency", type=int, default=int(os.environ.get("WORKER_CONCURRENCY", 4))
        )

    def say(self, text: str, style=None) -> None:
        try:
            self.stdout.write(style(text) if style else text)
        except (OSError, ValueError):
            pass  # the terminal is gone; stopping must go on regardless

    def handle(self, *args, bind, concurrency, **options):
        self.stopping = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, lambda *_: self.stopping.set())
        env = child_environment(bind)
        bin_dir = Path(sys.executable).parent
        debug = env["DEBUG"].strip().lower() in {"1", "true", "yes", "on"}
        if not debug and static_files_stale():
            self.say("collecting static files (once per change)")
            subprocess.run(
                [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                cwd=settings.BASE_DIR,
                env=env,
                check=True,
            )
        children = [
            Child("web", [str(bin_dir / "gunicorn"), "studio.wsgi", "--bind", bind,
                          "--workers", "2", "--threads", "4", "--access-logfile", "-",
                          "--no-control-socket"], env),
            Child("worker", [str(bin_dir / "celery"), "-A", "studio", "worker",
                             "--loglevel", "INFO", "--concurrency", str(concurrency),
                             "--hostname", "studio@%h"], env, watch_for=" ready."),
            Child("beat", [str(bin_dir / "celery"), "-A", "studio", "beat", "--loglevel",
                           "INFO", "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME], env),
        ]  # fmt: skip
        for child in children:
            self.say(f"started {child.name} (pid {child.process.pid})")
        exit_code = self.supervise(children, bind)
        started = time.monotonic()
        self.stop(children)
        self.say(f"stopped in {time.monotonic() - started:.1f} s")
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        # Nothing is left to clean up: skip the interpreter's teardown of every module Django
        # and Celery loaded, which takes seconds on a busy machine.
        os._exit(exit_code)

    def supervise(self, children: list[Child], bind: str) -> int:
        """Print "up" once web and worker are ready; return when asked to stop (0) or when
        one of the three exits (1)."""
        up = False
        while not self.stopping.is_set():
            for child in children:
                if not child.running():
                    self.say(f"{child.name} exited with {child.process.returncode}; stopping.")
                    return 1
            if not up and all(c.ready.is_set() for c in children) and web_answers(bind):
                up = True
                self.say(
                    f"Pipeline Studio is up at {studio_address(bind)}/ - Ctrl-C stops it.",
                    self.style.SUCCESS,
                )
            self.stopping.wait(0.2)
        return 0

    def stop(self, children: list[Child]) -> None:
        """Quick/cold shutdown of each, then SIGKILL to every process group still there."""
        for child in children:
            if child.running():
                try:
                    child.process.send_signal(STOP_SIGNALS[child.name])
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while any(c.running() for c in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        for child in children:
            child.signal_group(signal.SIGKILL)  # leftovers of the group, even if it exited
            child.process.wait()
