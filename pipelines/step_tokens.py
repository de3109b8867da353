"""Run tokens: the only credential a step script holds.

When the worker starts an attempt of a step it issues a fresh random secret, stores only its
sha256 on the StepRun and hands the secret to the script as ``STUDIO_STEP_TOKEN``. The token
names its step run and attempt (``pss_<step run id>.<attempt>.<secret>``) and is accepted by the
execution API (:mod:`pipelines.execution_api`) only for that step run, only while that attempt
is Running: the moment the step ends, is canceled or is retried, it is worth nothing. It is
never accepted by the rest of the API, and API tokens are never accepted in its place.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from core.sql import MAX_ID
from pipelines.models import RunStatus, StepRun

PREFIX = "pss_"
MAX_ATTEMPT = 32767  # StepRun.attempts is a small integer


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_step_token(step: StepRun, attempt: int) -> str:
    """A new run token for attempt ``attempt`` of ``step`` (which this worker claimed);
    replaces any earlier one. Returns the secret, which is stored nowhere."""
    secret = f"{PREFIX}{step.pk}.{attempt}.{secrets.token_urlsafe(32)}"
    StepRun.objects.filter(pk=step.pk, attempts=attempt).update(token_hash=_digest(secret))
    return secret


def step_for_token(secret: str) -> StepRun | None:
    """The Running step run whose current attempt holds ``secret``, or None."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    parts = secret[len(PREFIX) :].split(".", 2)
    if len(parts) != 3 or not all(
        part.isascii() and part.isdigit() and len(part) < 20 for part in parts[:2]
    ):
        return None
    step_id, attempt = int(parts[0]), int(parts[1])
    if not (0 < step_id <= MAX_ID and 0 < attempt <= MAX_ATTEMPT):
        return None
    step = (
        StepRun.objects.filter(
            pk=step_id, attempts=attempt, status=RunStatus.RUNNING, token_hash__gt=""
        )
        .only("pk", "run_id", "token_hash")
        .first()
    )
    if step is None or not hmac.compare_digest(step.token_hash, _digest(secret)):
        return None
    return step
