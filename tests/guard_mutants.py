"""The guard-mutation check: take out a rule of the security model and a test must fail.

``MUTANTS`` lists small changes to the product, each with the test node ids that must catch
it: a workspace filter removed from a list query, a role check dropped from a write route,
reuse of a step that did not finish or of another workspace, the disabled check taken off a
submit, the ``Idempotency-Key`` race handler broken. The repository is copied once to a
temporary folder (never the working tree); each mutant is applied to the copy in turn, its
tests run there (``pytest -x -q -p no:cacheprovider <nodes>``), and the file is put back.

The check fails (exit 1, listing them) when a mutant survives (its tests pass), when a
snippet is not found exactly once in its file (the list must follow the code, so it cannot
silently rot), or when a mutant's tests break instead of failing (collection or set-up
errors prove nothing). A baseline run of every mutant's tests on the unchanged copy comes
first: a mutant is only "killed" by tests that pass without it.

Usage (from the repository root)::

    .venv/bin/python tests/guard_mutants.py                # every mutant
    .venv/bin/python tests/guard_mutants.py reuse submit   # mutants whose name has a word
    .venv/bin/python tests/guard_mutants.py --list         # names, files and tests

With ``DATABASE_URL`` set (PostgreSQL, as in CI) the copy's tests use the database name
with ``_mutants`` appended, so the suite's own test database is never touched; the broker
and var folder are the copy's own (embedded). ``.ci/run`` runs this after ``make test``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent

SITE = "tests/test_site_permissions.py::test_permission_matrix"
API = "tests/studio/test_api_permissions.py::test_permission_matrix"
LISTS = "tests/test_workspace_lists.py"


@dataclass(frozen=True)
class Mutant:
    """One rule taken out: replace ``snippet`` (found exactly once) in ``path``."""

    name: str
    rule: str  # the rule of the security model it breaks
    path: str
    snippet: str
    replacement: str
    tests: tuple[str, ...]
    # Only PostgreSQL can reach this code (SQLite serialises writers): not run on SQLite.
    postgresql: bool = False


def on_postgresql() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


MUTANTS = [
    # --- Objects of another workspace are invisible: lists hold the caller's rows only ---
    Mutant(
        "api-runs-list-workspace",
        "workspace boundary",
        "pipelines/runs_api.py",
        "return PipelineRun.objects.filter(workspace=principal.workspace)",
        "return PipelineRun.objects.all()",
        (f"{LISTS}::test_api_runs_list_holds_the_callers_runs_only",),
    ),
    Mutant(
        "studio-runs-list-workspace",
        "workspace boundary",
        "pipelines/queries.py",
        "runs = PipelineRun.objects.filter(workspace=workspace)\n",
        "runs = PipelineRun.objects.all()\n",
        (f"{LISTS}::test_runs_page_holds_the_members_runs_only",),
    ),
    Mutant(
        "endpoints-list-workspace",
        "workspace boundary",
        "endpoints/queries.py",
        "endpoints = PipelineEndpoint.objects.filter(workspace=workspace)",
        "endpoints = PipelineEndpoint.objects.all()",
        (f"{LISTS}::test_endpoints_pages_hold_the_members_only",),
    ),
    Mutant(
        "published-list-workspace",
        "workspace boundary",
        "pipelines/queries.py",
        "published = PublishedPipeline.objects.filter(workspace=workspace)\n    if not include",
        "published = PublishedPipeline.objects.all()\n    if not include",
        (f"{LISTS}::test_published_pipelines_page_holds_the_members_only",),
    ),
    Mutant(
        "experiments-list-workspace",
        "workspace boundary",
        "pipelines/queries.py",
        'return Experiment.objects.filter(workspace=workspace).order_by("name", "id")',
        'return Experiment.objects.order_by("name", "id")',
        (f"{LISTS}::test_experiments_pages_hold_the_members_only",),
    ),
    Mutant(
        "studio-tokens-list-workspace",
        "workspace boundary",
        "studio/views.py",
        "tokens = ApiToken.objects.filter(workspace=request.workspace)",
        "tokens = ApiToken.objects.all()",
        (f"{LISTS}::test_tokens_page_holds_the_members_only",),
    ),
    Mutant(
        "api-tokens-list-workspace",
        "workspace boundary",
        "studio/api_tokens.py",
        "tokens = ApiToken.objects.filter(workspace=request.auth.workspace)",
        "tokens = ApiToken.objects.all()",
        (f"{LISTS}::test_api_tokens_list_holds_the_callers_only",),
    ),
    Mutant(
        "schedules-list-workspace",
        "workspace boundary",
        "schedules/queries.py",
        "schedules = Schedule.objects.filter(workspace=workspace)",
        "schedules = Schedule.objects.all()",
        (
            f"{LISTS}::test_api_schedules_list_holds_the_callers_only",
            f"{LISTS}::test_schedules_pages_hold_the_members_only",
        ),
    ),
    Mutant(
        "audit-workspace",
        "workspace boundary",
        "studio/models.py",
        "models.Q(workspace=workspace) | models.Q(workspace__isnull=True, actor__in=members)",
        "models.Q(pk__gt=0)",
        (
            f"{LISTS}::test_audit_page_holds_the_members_events_only",
            f"{LISTS}::test_api_audit_events_hold_the_callers_only",
        ),
    ),
    Mutant(
        "audit-sign-ins-of-members-only",
        "workspace boundary",
        "studio/models.py",
        "models.Q(workspace__isnull=True, actor__in=members)",
        "models.Q(workspace__isnull=True)",
        (f"{LISTS}::test_audit_page_holds_the_members_events_only",),
    ),
    Mutant(
        "members-list-workspace",
        "workspace boundary",
        "studio/views.py",
        "memberships = Membership.objects.filter(workspace=request.workspace)",
        "memberships = Membership.objects.all()",
        (f"{LISTS}::test_members_page_holds_the_members_only",),
    ),
    # --- Every page needs a signed-in member; every API call a Bearer token ---
    Mutant(
        "pages-need-sign-in",
        "every page needs a signed-in member",
        "studio/permissions.py",
        "    @login_required\n    @wraps(view)\n",
        "    @wraps(view)\n",
        (f"{SITE}[GET pipelines:run_list-anonymous]",),
    ),
    Mutant(
        "api-needs-a-token",
        "every API call needs a Bearer token",
        "studio/api.py",
        "    auth=BearerAuth(),\n",
        "",
        (f"{API}[GET /runs (reader)-none]",),
    ),
    Mutant(
        "token-fixes-the-role",
        "the token fixes the workspace and the role",
        "studio/auth.py",
        "return Principal(token.workspace, token.role, token.created_by, token)",
        "return Principal(token.workspace, Role.ADMIN, token.created_by, token)",
        (f"{API}[POST /published-pipelines/{{published}}/disable (admin)-reader]",),
    ),
    # --- ... and objects of another workspace answer 404 ---
    Mutant(
        "studio-object-workspace",
        "objects of another workspace answer 404",
        "studio/permissions.py",
        "obj = get_object_or_404(queryset, pk=pk, workspace=request.workspace)",
        "obj = get_object_or_404(queryset, pk=pk)",
        # Not the run page: its queryset is the workspace's runs already.
        (
            f"{SITE}[GET pipelines:published_detail-stranger]",
            f"{SITE}[GET endpoints:endpoint_detail-stranger]",
        ),
    ),
    Mutant(
        "api-object-workspace",
        "objects of another workspace answer 404",
        "studio/auth.py",
        "obj = queryset.filter(pk=pk, workspace=self.workspace).first()",
        "obj = queryset.filter(pk=pk).first()",
        (f"{API}[GET /published-pipelines/{{published}} (reader)-other]",),
    ),
    # --- Roles: Reader reads; Contributor submits, cancels, resubmits, publishes ---
    Mutant(
        "api-submit-role",
        "Contributor role to submit",
        "pipelines/published_api.py",
        'principal.load(PublishedPipeline, id, "Published pipeline", Role.CONTRIBUTOR)',
        'principal.load(PublishedPipeline, id, "Published pipeline")',
        (f"{API}[POST /published-pipelines/{{published}}/runs (contributor)-reader]",),
    ),
    Mutant(
        "api-cancel-role",
        "Contributor role to cancel",
        "pipelines/runs_api.py",
        "run = _run(request, id, Role.CONTRIBUTOR)\n    run.cancel(",
        "run = _run(request, id)\n    run.cancel(",
        (f"{API}[POST /runs/{{run}}/cancel (contributor)-reader]",),
    ),
    Mutant(
        "studio-cancel-role",
        "Contributor role to cancel",
        "pipelines/views.py",
        "def run_cancel(request, pk):\n    run = get_for_member(request, PipelineRun, pk, "
        "role=Role.CONTRIBUTOR)",
        "def run_cancel(request, pk):\n    run = get_for_member(request, PipelineRun, pk)",
        (f"{SITE}[POST pipelines:run_cancel-reader]",),
    ),
    Mutant(
        "studio-submit-role",
        "Contributor role to submit",
        "pipelines/published_views.py",
        'beside their fields."""\n    require_role(request, Role.CONTRIBUTOR)\n',
        'beside their fields."""\n',
        (f"{SITE}[POST endpoints:endpoint_submit-reader]",),
    ),
    # --- Admin: disables/enables, sets default versions, manages members and every token ---
    Mutant(
        "api-disable-role",
        "Admin role to disable/enable",
        "pipelines/published_api.py",
        'request.auth.load(PublishedPipeline, id, "Published pipeline", Role.ADMIN)',
        'request.auth.load(PublishedPipeline, id, "Published pipeline", Role.CONTRIBUTOR)',
        (f"{API}[POST /published-pipelines/{{published}}/disable (admin)-contributor]",),
    ),
    Mutant(
        "studio-disable-role",
        "Admin role to disable/enable",
        "pipelines/published_views.py",
        "published = get_for_member(request, PublishedPipeline, pk, role=Role.ADMIN)",
        "published = get_for_member(request, PublishedPipeline, pk, role=Role.CONTRIBUTOR)",
        (f"{SITE}[POST pipelines:published_disable-contributor]",),
    ),
    Mutant(
        "api-default-version-role",
        "Admin role to set the default version",
        "endpoints/api.py",
        "endpoint = _endpoint(request, id, Role.ADMIN if payload.SetDefault else Role.CONTRIBUTOR)",
        "endpoint = _endpoint(request, id, Role.CONTRIBUTOR)",
        (f"{API}[POST /pipeline-endpoints/{{endpoint}}/versions (admin)-contributor]",),
    ),
    Mutant(
        "studio-members-role",
        "Admin role to manage members",
        "studio/views.py",
        "def members(request):\n    require_role(request, Role.ADMIN)\n",
        "def members(request):\n",
        (f"{SITE}[GET workspace_members-reader]",),
    ),
    Mutant(
        "api-tokens-role",
        "Admin role for every token",
        "studio/api_tokens.py",
        '    """The workspace\'s tokens, newest first (secrets are never shown again)."""\n'
        "    request.auth.require(Role.ADMIN)\n",
        '    """The workspace\'s tokens, newest first (secrets are never shown again)."""\n',
        (f"{API}[GET /tokens (admin)-contributor]",),
    ),
    Mutant(
        "studio-tokens-own-only",
        "non-Admins see only the tokens they made",
        "studio/views.py",
        "tokens = tokens.filter(created_by=request.user)",
        "tokens = tokens",
        (f"{LISTS}::test_tokens_page_shows_a_non_admin_only_the_tokens_they_made",),
    ),
    Mutant(
        "token-role-up-to-ones-own",
        "a token's role is at most its maker's",
        "studio/forms.py",
        "for value, label in Role.choices if Role.at_least(max_role, value)",
        "for value, label in Role.choices",
        ("tests/studio/test_tokens_page.py::test_roles_offered_go_up_to_ones_own",),
    ),
    Mutant(
        "revoked-token-refused",
        "revoked or expired tokens are refused",
        "studio/models.py",
        '"WHERE t.token_hash = %s AND t.revoked_at IS NULL "',
        '"WHERE t.token_hash = %s "',
        ("tests/core/test_sql.py::test_token_lookup_refuses_revoked_and_expired_tokens",),
    ),
    # --- Disabled published pipelines and endpoints refuse runs ---
    Mutant(
        "submit-disabled-published",
        "a disabled published pipeline refuses runs",
        "pipelines/engine.py",
        "    published.check_active()\n",
        "",
        (
            "tests/pipelines/test_submission.py::"
            "test_disabled_published_pipeline_refuses_runs_with_409_naming_it",
        ),
    ),
    Mutant(
        "resubmit-disabled-published",
        "a disabled published pipeline refuses runs",
        "pipelines/engine.py",
        "        run.published_pipeline.check_active()\n",
        "        pass\n",
        (
            "tests/pipelines/test_run_pages.py::"
            "test_resubmit_of_a_run_of_a_disabled_published_pipeline_is_refused",
            "tests/pipelines/test_runs_api.py::"
            "test_resubmit_of_a_run_of_a_disabled_published_pipeline_is_409_and_starts_nothing",
        ),
    ),
    Mutant(
        "submit-disabled-endpoint",
        "a disabled endpoint refuses runs",
        "endpoints/models.py",
        "        if not self.is_active:\n            raise Conflict(",
        "        if False:\n            raise Conflict(",
        (
            "tests/endpoints/test_pages.py::"
            "test_submit_to_a_disabled_endpoint_is_refused_with_a_message",
        ),
    ),
    # --- Reuse takes only a Finished step of the same workspace ---
    Mutant(
        "reuse-not-finished",
        "reuse only of Finished steps",
        "pipelines/scheduler.py",
        "AND s.status = %s {not_this_run}",
        "AND s.status <> %s {not_this_run}",
        ("tests/pipelines/test_reuse_guards.py",),
    ),
    Mutant(
        "reuse-any-status",
        "reuse only of Finished steps",
        "pipelines/scheduler.py",
        "AND s.status = %s {not_this_run}",
        "AND %s <> '' {not_this_run}",
        ("tests/pipelines/test_reuse_guards.py",),
    ),
    Mutant(
        "reuse-across-workspaces",
        "reuse never across workspaces",
        "pipelines/scheduler.py",
        "WHERE r.workspace_id = %s AND s.fingerprint",
        "WHERE r.workspace_id <> -%s AND s.fingerprint",
        ("tests/pipelines/test_reuse_guards.py",),
    ),
    # --- A retried submit with one Idempotency-Key starts one run ---
    Mutant(
        "idempotency-race-handler",
        "one run per Idempotency-Key, also when two requests race",
        "pipelines/submission.py",
        "        earlier = _earlier_run(scope, fingerprint, cutoff)\n        if earlier is None:\n"
        "            raise\n        return earlier, True\n",
        "        raise\n",
        (
            "tests/pipelines/test_submission_idempotency.py::"
            "test_forced_race_on_one_key_returns_the_winners_run",
        ),
        postgresql=True,
    ),
    Mutant(
        "idempotency-key-of-the-caller",
        "a key returns only its own caller's run (never another token's or workspace's)",
        "pipelines/submission.py",
        '"principal": request.auth.key,',
        '"principal": "anyone",',
        (
            "tests/pipelines/test_submission_idempotency.py::"
            "test_same_key_from_another_token_is_another_key",
        ),
    ),
]


def copy_repository(target: Path) -> None:
    """The repository's files (tracked and new, not ignored) under ``target``; ``.venv``
    stays a link to the same interpreter."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (item.decode() for item in listed)):
        source = ROOT / name
        if not source.is_file():
            continue  # deleted in the working tree, still in the index
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
    if (ROOT / ".venv").exists():
        (target / ".venv").symlink_to((ROOT / ".venv").resolve())


def environment(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["STUDIO_TEST_VAR_DIR"] = str(copy / "var" / "test")
    # Only pytest-django (loaded with -p below): the browser, fuzz and other plugins take
    # most of a run's start-up and no mutant's tests need them.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env.pop("CELERY_BROKER_URL", None)  # the copy's own embedded broker
    if env.get("DATABASE_URL"):
        parts = urlsplit(env["DATABASE_URL"])
        env["DATABASE_URL"] = urlunsplit(parts._replace(path=parts.path + "_mutants"))
    return env


_writes = iter(range(1, 10**6))


def write(path: Path, text: str) -> None:
    """Write ``path`` with an mtime of its own: Python trusts a cached bytecode file whose
    recorded source mtime (whole seconds) and size match, and a mutant and its original
    written within one second may have the same size."""
    path.write_text(text)
    stamp = int(time.time()) + 2 * next(_writes)
    os.utime(path, (stamp, stamp))


def run_tests(copy: Path, nodes: list[str]) -> tuple[str, str]:
    """("passed" | "failed" | "broken", pytest's last lines) of ``nodes`` in ``copy``."""
    result = subprocess.run(
        # Mutants change no model: the test database made by the baseline is kept for all.
        [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
        + ["-p", "pytest_django.plugin", "--reuse-db", *nodes],
        cwd=copy,
        env=environment(copy),
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    tail = "\n".join(output.strip().splitlines()[-15:])
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    if result.returncode == 0:
        return "passed", tail
    if result.returncode == 1 and " failed" in summary:
        return "failed", tail
    return "broken", tail


def main() -> int:
    # A stopped check still removes its copy, and subprocess.run stops the pytest it waits for.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("words", nargs="*", help="run only mutants whose name has one of these")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    options = parser.parse_args()
    chosen = [m for m in MUTANTS if not options.words or any(w in m.name for w in options.words)]
    if not on_postgresql() and not options.list:
        for mutant in [m for m in chosen if m.postgresql]:
            print(f"not run   {mutant.name} (needs PostgreSQL: set DATABASE_URL)")
        chosen = [m for m in chosen if not m.postgresql]
    if options.list:
        for mutant in chosen:
            print(f"{mutant.name}  [{mutant.rule}]  {mutant.path}")
            for node in mutant.tests:
                print(f"    {node}")
        return 0

    problems: list[str] = []
    for mutant in chosen:
        path = ROOT / mutant.path
        found = path.read_text().count(mutant.snippet) if path.exists() else 0
        if found != 1:
            problems.append(f"{mutant.name}: the snippet is found {found} times in {mutant.path}")
    if problems:
        print("The mutant list no longer matches the code:\n  " + "\n  ".join(problems))
        return 1

    with tempfile.TemporaryDirectory(prefix="guard-mutants-") as folder:
        copy = Path(folder)
        copy_repository(copy)
        nodes = sorted({node for mutant in chosen for node in mutant.tests})
        started = time.monotonic()
        outcome, tail = run_tests(copy, nodes)
        print(f"baseline: {len(nodes)} test ids {outcome} ({time.monotonic() - started:.0f} s)")
        if outcome != "passed":
            print(tail)
            return 1
        for mutant in chosen:
            path = copy / mutant.path
            original = path.read_text()
            write(path, original.replace(mutant.snippet, mutant.replacement))
            started = time.monotonic()
            try:
                outcome, tail = run_tests(copy, list(mutant.tests))
            finally:
                write(path, original)
            verdict = {"failed": "killed", "passed": "SURVIVED", "broken": "BROKEN"}[outcome]
            print(f"{verdict:9} {mutant.name} ({time.monotonic() - started:.0f} s)", flush=True)
            if outcome != "failed":
                problems.append(f"{mutant.name} {verdict}: {mutant.path}\n{tail}")
    if problems:
        print("\nMutants not killed by a failing test:\n" + "\n\n".join(problems))
        return 1
    print(f"all {len(chosen)} mutants killed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
