"""Migrating a database made by the last release keeps every row it holds.

The test builds a fresh database of its own next to the suite's (a temporary SQLite file, or
``<test database>_upgrade`` on PostgreSQL, created and dropped here), migrates it to the
migrations of the last release (``RELEASED``; Django's own apps at their latest), and fills it
through the historical models of that state: workspaces, users, memberships, groups and
permissions, an Entra identity and a session, API tokens, a snapshot, a draft pipeline,
published pipelines, endpoints with versions, runs (ended, running, queued, resubmitted with
reused steps) with their steps and metrics, idempotency keys, audit events and an admin log
entry; every table of that state gets rows. It then runs ``migrate`` as an upgrade does and
reads everything back through the current models.

It proves that:

- every row of every table of the released schema is still there, with every column it had
  holding the same value (foreign keys included), and no row was added to those tables
  (content types and permissions aside, which ``migrate`` adds for new models);
- the columns and tables added since hold what the migrations promise: status reasons empty,
  new step and idempotency-key columns at their defaults, ``StepRun.waiting_on`` counting
  the unfinished upstream steps of runs still in flight (0 for ended runs), and
  ``RunMetricValue`` holding each run's latest scalar per metric name (its own first, else
  the one carried by a reused step; None for a scalar that is not a number);
- nothing is left to migrate.

The database work runs in a subprocess (``python -m tests.test_migrations_upgrade OUT``)
whose settings point at the fresh database; it writes what it read as JSON, which the test
compares. A later migration that moves a model to another app names its new home in
``MOVED``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The leaf migration of each of our apps in the last release (the ``schedules`` app came
# after it). Django's own apps are taken at their latest migration.
RELEASED = [
    ("studio", "0002_entra_identity"),
    ("pipelines", "0001_initial"),
    ("endpoints", "0003_version_same_workspace_trigger"),
]
# A model a later migration moved: its label in the release -> its label now.
MOVED: dict[str, str] = {}
# Tables ``migrate`` adds rows to for the models it creates.
GROWS = {"contenttypes.contenttype", "auth.permission"}

T0 = "2026-11-20T09:00:00+00:00"  # when the released database's story starts

GRAPH = {
    "parameters": [{"name": "horizon", "default_value": 7}],
    "steps": [
        {
            "name": "prepare",
            "script_name": "prepare.py",
            "snapshot": "ab" * 32,
            "arguments": ["--rows", "1000"],
            "inputs": [],
            "outputs": ["clean"],
        },
        {
            "name": "train",
            "script_name": "train.py",
            "snapshot": "ab" * 32,
            "arguments": ["--horizon", {"parameter": "horizon"}],
            "inputs": ["clean"],
            "outputs": ["model"],
            "compute_target": "gpu",
        },
        {
            "name": "evaluate",
            "script_name": "evaluate.py",
            "snapshot": "ab" * 32,
            "arguments": [],
            "inputs": ["model"],
            "outputs": ["scores"],
        },
        {
            "name": "report",
            "script_name": "report.py",
            "snapshot": "ab" * 32,
            "arguments": [],
            "inputs": ["scores"],
            "outputs": [],
        },
        {
            "name": "publish",
            "script_name": "publish.py",
            "snapshot": "ab" * 32,
            "arguments": [],
            "inputs": ["model"],
            "outputs": [],
            "run_after": ["evaluate"],
        },
    ],
}
STEP_NAMES = [step["name"] for step in GRAPH["steps"]]

# Each run's steps in the released database: status (and the step of another run it reused).
RUN_STEPS = {
    "finished": dict.fromkeys(STEP_NAMES, "Finished"),
    "running": {
        "prepare": "Finished",
        "train": "Running",
        "evaluate": "NotStarted",
        "report": "NotStarted",
        "publish": "NotStarted",
    },
    "queued": {"prepare": "Queued", **dict.fromkeys(STEP_NAMES[1:], "NotStarted")},
    "resubmitted": dict.fromkeys(STEP_NAMES, "Finished"),
    "failed": {"prepare": "Failed", **dict.fromkeys(STEP_NAMES[1:], "Canceled")},
}
REUSED = {("resubmitted", "prepare"): "finished", ("resubmitted", "evaluate"): "finished"}

# Scalar and other metrics: (label, run, step or None, name, kind, value), in logging order.
METRICS = [
    ("rows", "finished", "prepare", "rows", "scalar", 1000),
    ("rmse_first", "finished", "train", "rmse", "scalar", 0.5),
    ("rmse_last", "finished", "train", "rmse", "scalar", 0.42),
    ("loss", "finished", "train", "loss", "list", [0.9, 0.5, 0.42]),
    ("mae", "finished", "evaluate", "mae", "scalar", 3),
    ("accuracy", "finished", "evaluate", "accuracy", "scalar", "n/a"),
    ("epoch", "finished", "train", "epoch", "row", {"epoch": 1, "loss": 0.9}),
    ("stage", "finished", None, "stage", "tag", "production"),
    ("running_rmse", "running", "train", "rmse", "scalar", 0.61),
    ("running_converged", "running", "train", "converged", "scalar", False),
    ("running_huge", "running", "train", "huge", "scalar", 10**400),
    ("resubmitted_rmse", "resubmitted", "train", "rmse", "scalar", 0.4),
    ("resubmitted_mae", "resubmitted", "train", "mae", "scalar", 2.5),
    ("failed_rows", "failed", "prepare", "rows", "scalar", 12),
]

# What the upgrade must build, worked out by hand from the rows above.
EXPECTED_WAITING_ON = {
    "finished": dict.fromkeys(STEP_NAMES, 0),
    # train's input is Finished; evaluate and report wait for one step; publish reads the
    # model and runs after evaluate.
    "running": {"prepare": 0, "train": 0, "evaluate": 1, "report": 1, "publish": 2},
    "queued": {"prepare": 0, "train": 1, "evaluate": 1, "report": 1, "publish": 2},
    "resubmitted": dict.fromkeys(STEP_NAMES, 0),
    "failed": dict.fromkeys(STEP_NAMES, 0),
}
# (run, name) -> (workspace, value, metric, reused)
EXPECTED_METRIC_VALUES = {
    ("finished", "rows"): ("forecasting", 1000.0, "rows", False),
    ("finished", "rmse"): ("forecasting", 0.42, "rmse_last", False),
    ("finished", "mae"): ("forecasting", 3.0, "mae", False),
    ("finished", "accuracy"): ("forecasting", None, "accuracy", False),
    ("running", "rmse"): ("forecasting", 0.61, "running_rmse", False),
    ("running", "converged"): ("forecasting", None, "running_converged", False),
    ("running", "huge"): ("forecasting", None, "running_huge", False),
    # its own values first; the rest carried by the steps it reused from "finished"
    ("resubmitted", "rmse"): ("forecasting", 0.4, "resubmitted_rmse", False),
    ("resubmitted", "mae"): ("forecasting", 2.5, "resubmitted_mae", False),
    ("resubmitted", "rows"): ("forecasting", 1000.0, "rows", True),
    ("resubmitted", "accuracy"): ("forecasting", None, "accuracy", True),
    ("failed", "rows"): ("research", 12.0, "failed_rows", False),
}


# --- The test -------------------------------------------------------------------------


@pytest.fixture
def fresh_database(tmp_path, settings, django_db_blocker):
    """Environment variables naming a new empty database: a temporary SQLite file, or a
    PostgreSQL database created here and dropped afterwards."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "STUDIO_TEST_VAR_DIR": str(tmp_path / "var"),
    }
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        env.pop("DATABASE_URL", None)
        env["STUDIO_DATABASE_NAME"] = str(tmp_path / "upgrade.sqlite3")
        yield env
        return
    from django.db import connection

    name = "test_" + urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/") + "_upgrade"
    quoted = connection.ops.quote_name(name)
    with django_db_blocker.unblock():
        with connection._nodb_cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
            cursor.execute(f"CREATE DATABASE {quoted}")
    env["STUDIO_DATABASE_NAME"] = name
    try:
        yield env
    finally:
        with django_db_blocker.unblock():
            with connection._nodb_cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")


def test_upgrade_from_the_last_release_keeps_every_row(fresh_database, tmp_path):
    out = tmp_path / "upgrade.json"
    done = subprocess.run(
        [sys.executable, "-m", "tests.test_migrations_upgrade", str(out)],
        cwd=ROOT,
        env=fresh_database,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    found = json.loads(out.read_text())
    before, after = found["before"], found["after"]

    # The database was made by the release: none of the later columns and tables.
    assert "route" not in found["released_fields"]["pipelines.idempotencykey"]
    assert "waiting_on" not in found["released_fields"]["pipelines.steprun"]
    assert "status_reason" not in found["released_fields"]["endpoints.pipelineendpoint"]
    assert "pipelines.runmetricvalue" not in before
    assert not [label for label in before if label.startswith("schedules.")]
    # Every table of the release had rows to lose.
    assert [label for label, rows in before.items() if not rows] == []

    lost = {label: sorted(set(rows) - set(after[label])) for label, rows in before.items()}
    assert {label: pks for label, pks in lost.items() if pks} == {}
    added = {
        label: sorted(set(after[label]) - set(rows))
        for label, rows in before.items()
        if label not in GROWS
    }
    assert {label: pks for label, pks in added.items() if pks} == {}
    changed = {
        f"{label} {pk}": {
            column: (value, after[label][pk][column])
            for column, value in row.items()
            if after[label][pk][column] != value
        }
        for label, rows in before.items()
        for pk, row in rows.items()
        if after[label][pk] != row
    }
    assert changed == {}

    # The columns added since: at their defaults, or counted from the rows.
    assert found["waiting_on"] == EXPECTED_WAITING_ON
    assert found["step_token_hashes"] == [""]
    assert found["idempotency_keys"] == [
        {"key": "nightly-2026-11-20", "route": "", "fingerprint": ""},
        {"key": "nightly-2026-11-20", "route": "", "fingerprint": ""},
    ]
    assert found["status_changes"] == {
        label: {"status_reason": "", "status_changed_by_label": "", "status_changed_at": None}
        for label in ("forecast v1", "forecast v2", "research v1", "forecast", "legacy", "lab")
    }
    assert {
        (row["run"], row["name"]): (row["workspace"], row["value"], row["metric"], row["reused"])
        for row in found["metric_values"]
    } == EXPECTED_METRIC_VALUES
    assert len(found["metric_values"]) == len(EXPECTED_METRIC_VALUES)

    # The tables added since exist (the schedules and the workers' heartbeats empty), and
    # nothing is left to migrate.
    assert found["new_tables"] == {
        "studio_cache": 0,
        "schedules_schedule": 0,
        "pipelines_workerheartbeat": 0,
    }
    assert found["pending"] == []
    assert found["password_checks"] is True


# --- The subprocess: build the released database, upgrade it, read it back -------------


def released_targets(loader) -> list[tuple[str, str]]:
    """``RELEASED`` and the latest migration of each of Django's own apps."""
    from django.apps import apps

    django_apps = {
        app for app in loader.migrated_apps if apps.get_app_config(app).name.startswith("django.")
    }
    return RELEASED + [leaf for leaf in loader.graph.leaf_nodes() if leaf[0] in django_apps]


def read_rows(models) -> dict[str, dict[str, dict]]:
    """{label: {pk: {column attname: value}}} of ``models``, values as JSON would have them."""
    rows = {}
    for label, (model, attnames) in models.items():
        found = model.objects.order_by("pk").values("pk", *attnames)
        rows[label] = {str(row.pop("pk")): row for row in found}
    return json.loads(json.dumps(rows, default=str))


def fill(apps) -> dict[tuple[str, str], int]:
    """Rows in every table of the released schema, through its historical ``apps``; returns
    the primary keys of the named ones, by (model, name)."""
    from datetime import datetime, timedelta

    from django.contrib.auth.hashers import make_password

    def model(label):
        return apps.get_model(label)

    t0 = datetime.fromisoformat(T0)

    def at(minutes):
        return t0 + timedelta(minutes=minutes)

    keys = {}
    Workspace = model("studio.Workspace")
    forecasting = Workspace.objects.create(
        name="Forecasting", slug="forecasting", description="Demand forecasts", created_at=t0
    )
    research = Workspace.objects.create(name="Research", slug="research", created_at=at(1))
    keys["workspace", "forecasting"], keys["workspace", "research"] = forecasting.pk, research.pk

    User = model("auth.User")
    alice = User.objects.create(
        username="alice",
        email="alice@example.com",
        first_name="Alice",
        password=make_password("alice-password", salt="upgradetestsalt", hasher="pbkdf2_sha256"),
        is_staff=True,
        is_superuser=True,
        date_joined=t0,
        last_login=at(5),
    )
    bob = User.objects.create(username="bob", password="!unusable", date_joined=at(2))
    carol = User.objects.create(username="carol", password="!unusable", date_joined=at(3))
    Membership = model("studio.Membership")
    for workspace, user, role in [
        (forecasting, alice, "admin"),
        (forecasting, bob, "contributor"),
        (forecasting, carol, "reader"),
        (research, alice, "admin"),
    ]:
        Membership.objects.create(workspace=workspace, user=user, role=role, created_at=at(4))

    Permission = model("auth.Permission")
    auditors = model("auth.Group").objects.create(name="auditors")
    auditors.permissions.add(Permission.objects.get(codename="view_auditevent"))
    carol.groups.add(auditors)
    bob.user_permissions.add(Permission.objects.get(codename="view_pipelinerun"))

    model("studio.Identity").objects.create(
        user=alice,
        tenant_id="72f988bf-86f1-41af-91ab-2d7cd011db47",
        object_id="0b6a4c1e-3d2f-4f6e-9a1b-5c7d8e9f0a1b",
        created_at=at(5),
        last_sign_in_at=at(5),
    )
    model("sessions.Session").objects.create(
        session_key="k" * 32, session_data="e30:1tTest:signature", expire_date=at(60 * 24 * 14)
    )
    model("studio.UserSession").objects.create(user=alice, session_key="k" * 32, created_at=at(5))

    ApiToken = model("studio.ApiToken")
    nightly = ApiToken.objects.create(
        workspace=forecasting,
        name="nightly scheduler",
        role="contributor",
        token_hash="c0" * 32,
        hint="pst_c0c0",
        created_by=alice,
        created_at=at(6),
        expires_at=at(60 * 24 * 90),
        last_used_at=at(30),
    )
    ApiToken.objects.create(
        workspace=forecasting,
        name="old dashboard",
        role="reader",
        token_hash="d1" * 32,
        hint="pst_d1d1",
        created_by=alice,
        created_at=at(6),
        revoked_at=at(7),
    )

    model("pipelines.SourceSnapshot").objects.create(
        workspace=forecasting,
        sha256="ab" * 32,
        archive=f"snapshots/{'ab' * 32}.zip",
        size=2048,
        files=["prepare.py", "train.py", "evaluate.py", "report.py", "publish.py"],
        created_by=bob,
        created_at=at(8),
    )
    draft = model("pipelines.Pipeline").objects.create(
        workspace=forecasting,
        name="daily forecast",
        description="Draft from the SDK",
        graph=GRAPH,
        created_by=bob,
        created_at=at(9),
    )
    Experiment = model("pipelines.Experiment")
    daily = Experiment.objects.create(
        workspace=forecasting, name="daily-forecast", created_at=at(9)
    )
    lab = Experiment.objects.create(workspace=research, name="exploration", created_at=at(9))

    Published = model("pipelines.PublishedPipeline")
    published = {}
    for label, workspace, version, status in [
        ("forecast v1", forecasting, "1.0", "Active"),
        ("forecast v2", forecasting, "2.0", "Disabled"),
        ("research v1", research, "0.1", "Active"),
    ]:
        published[label] = Published.objects.create(
            workspace=workspace,
            name=label.split()[0],
            description=f"{label} published",
            version=version,
            status=status,
            graph=GRAPH,
            continue_on_step_failure=label == "forecast v2",
            source_pipeline=draft if workspace == forecasting else None,
            published_by=alice,
            published_by_label="alice",
            published_at=at(10),
            updated_at=at(11),
        )
        keys["published", label] = published[label].pk

    Endpoint = model("endpoints.PipelineEndpoint")
    Version = model("endpoints.PipelineEndpointVersion")
    endpoints = {}
    for label, workspace, status, versions in [
        ("forecast", forecasting, "Active", ["forecast v1", "forecast v2"]),
        ("legacy", forecasting, "Disabled", ["forecast v1"]),
        ("lab", research, "Active", ["research v1"]),
    ]:
        endpoints[label] = Endpoint.objects.create(
            workspace=workspace,
            name=label,
            description=f"The {label} endpoint",
            status=status,
            created_by=alice,
            created_at=at(12),
            updated_at=at(13),
        )
        keys["endpoint", label] = endpoints[label].pk
        for number, name in enumerate(versions, start=1):
            Version.objects.create(
                endpoint=endpoints[label],
                number=number,
                published_pipeline=published[name],
                is_default=number == len(versions),
                added_by=alice,
                added_by_label="alice",
                added_at=at(13),
            )

    Run = model("pipelines.PipelineRun")
    StepRun = model("pipelines.StepRun")
    runs, steps = {}, {}
    for minute, (label, workspace, experiment, status, source, extra) in enumerate(
        [
            ("finished", forecasting, daily, "Finished", "API", {}),
            ("running", forecasting, daily, "Running", "SDK", {"pipeline": draft}),
            ("queued", forecasting, daily, "Queued", "Studio", {"pipeline": draft}),
            ("resubmitted", forecasting, daily, "Finished", "Resubmit", {}),
            ("failed", research, lab, "Failed", "API", {"error": "prepare failed"}),
        ],
        start=20,
    ):
        if label in ("finished", "resubmitted"):
            extra = {
                "published_pipeline": published["forecast v1"],
                "pipeline_endpoint": endpoints["forecast"],
                "endpoint_version": "1",
            }
        if label == "resubmitted":
            extra["resubmitted_from"] = runs["finished"]
        if label == "failed":
            extra["published_pipeline"] = published["research v1"]
        ended = status in ("Finished", "Failed")
        runs[label] = Run.objects.create(
            workspace=workspace,
            experiment=experiment,
            graph=GRAPH,
            parameters={"horizon": 14},
            status=status,
            description=f"{label} run",
            run_source=source,
            tags={"team": "demand", "run": label},
            continue_on_step_failure=label == "failed",
            submitted_by=bob,
            submitted_by_label="bob" if label != "finished" else "token nightly scheduler",
            created_at=at(minute),
            dispatched_at=at(minute) if status != "Queued" else None,
            started_at=at(minute + 1) if status != "Queued" else None,
            finished_at=at(minute + 9) if ended else None,
            **extra,
        )
        keys["run", label] = runs[label].pk
        for position, (name, step_status) in enumerate(RUN_STEPS[label].items()):
            reused = REUSED.get((label, name))
            started = step_status not in ("NotStarted", "Queued", "Canceled")
            steps[label, name] = StepRun.objects.create(
                run=runs[label],
                name=name,
                position=position,
                status=step_status,
                compute_target=GRAPH["steps"][position].get("compute_target", "cpu"),
                fingerprint=f"{position:02d}" * 32,
                reused_from=steps[reused, name] if reused else None,
                argv=["python", f"{name}.py", "--horizon", "14"],
                outputs={
                    output: {"path": f"runs/{label}/{output}", "files": ["data.parquet"]}
                    for output in GRAPH["steps"][position]["outputs"]
                }
                if step_status == "Finished"
                else {},
                log=f"{name}: ok\n" if started else "",
                exit_code={"Finished": 0, "Failed": 1}.get(step_status),
                failure_reason="Exit code 1" if step_status == "Failed" else "",
                attempts=1 if started else 0,
                worker="celery@worker-1" if started else "",
                heartbeat_at=at(minute + 2) if step_status == "Running" else None,
                queued_at=at(minute + 1) if step_status != "NotStarted" else None,
                started_at=at(minute + 1) if started else None,
                finished_at=at(minute + 2) if step_status in ("Finished", "Failed") else None,
            )

    Metric = model("pipelines.Metric")
    for number, (label, run, step, name, kind, value) in enumerate(METRICS):
        keys["metric", label] = Metric.objects.create(
            run=runs[run],
            step_run=steps[run, step] if step else None,
            name=name,
            kind=kind,
            value=value,
            created_at=at(40 + number),
        ).pk

    IdempotencyKey = model("pipelines.IdempotencyKey")
    for principal, run in [(f"token:{nightly.pk}", "finished"), (f"user:{bob.pk}", "queued")]:
        IdempotencyKey.objects.create(
            principal=principal, key="nightly-2026-11-20", run=runs[run], created_at=at(20)
        )

    AuditEvent = model("studio.AuditEvent")
    for workspace, actor, action, obj, details in [
        (None, None, "workspace.created", forecasting, {}),
        (forecasting, alice, "token.created", nightly, {"role": "contributor"}),
        (forecasting, alice, "published_pipeline.published", published["forecast v1"], {}),
        (forecasting, alice, "published_pipeline.disabled", published["forecast v2"], {}),
        (forecasting, alice, "endpoint.created", endpoints["forecast"], {"version": 1}),
        (forecasting, bob, "run.canceled", runs["running"], {"steps": ["train", "evaluate"]}),
    ]:
        AuditEvent.objects.create(
            workspace=workspace,
            actor=actor,
            actor_label=actor.username if actor else "",
            action=action,
            object_type=type(obj).__name__,
            object_id=str(obj.pk),
            object_repr=str(obj.pk),
            details=details,
            created_at=at(50),
        )

    model("admin.LogEntry").objects.create(
        action_time=at(55),
        user=alice,
        content_type=model("contenttypes.ContentType").objects.get(
            app_label="studio", model="workspace"
        ),
        object_id=str(research.pk),
        object_repr="Research",
        action_flag=1,
        change_message='[{"added": {}}]',
    )
    return keys


def upgrade(out: Path) -> None:
    import django

    django.setup()
    from django.apps import apps as current_apps
    from django.core.management import call_command
    from django.core.management.sql import emit_post_migrate_signal
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    # The released database, as `migrate` made it then (with its content types and
    # permissions), filled through that state's models.
    executor = MigrationExecutor(connection)
    targets = released_targets(executor.loader)
    plan = executor.migration_plan(targets)
    state = executor.migrate(targets, plan=plan)
    released = state.apps
    emit_post_migrate_signal(0, False, connection.alias, apps=released, plan=plan)
    keys = fill(released)
    models = {
        m._meta.label_lower: (m, [f.attname for f in m._meta.concrete_fields])
        for m in released.get_models(include_auto_created=True)
    }
    before = read_rows(models)

    call_command("migrate", interactive=False, verbosity=0)

    # The same columns of the same tables, read through the current models.
    current = {
        label: (current_apps.get_model(MOVED.get(label, label)), attnames)
        for label, (_, attnames) in models.items()
    }
    after = read_rows(current)

    from endpoints.models import PipelineEndpoint
    from pipelines.models import IdempotencyKey, PublishedPipeline, RunMetricValue, StepRun

    name_of = {(kind, pk): name for (kind, name), pk in keys.items()}
    waiting_on = {}
    for step in StepRun.objects.order_by("pk"):
        run = name_of["run", step.run_id]
        waiting_on.setdefault(run, {})[step.name] = step.waiting_on
    status_changes = {
        name_of[kind, row.pop("pk")]: row
        for kind, model in (("published", PublishedPipeline), ("endpoint", PipelineEndpoint))
        for row in model.objects.values(
            "pk", "status_reason", "status_changed_by_label", "status_changed_at"
        )
    }
    metric_values = [
        {
            "run": name_of["run", row.run_id],
            "name": row.name,
            "workspace": name_of["workspace", row.workspace_id],
            "value": row.value,
            "metric": name_of["metric", row.metric_id],
            "reused": row.reused,
        }
        for row in RunMetricValue.objects.order_by("pk")
    ]
    new_tables = {}
    with connection.cursor() as cursor:
        for table in ("studio_cache", "schedules_schedule", "pipelines_workerheartbeat"):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            new_tables[table] = cursor.fetchone()[0]
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    alice = current_apps.get_model("auth.User").objects.get(username="alice")

    out.write_text(
        json.dumps(
            {
                "released_fields": {label: attnames for label, (_, attnames) in models.items()},
                "before": before,
                "after": after,
                "waiting_on": waiting_on,
                "step_token_hashes": sorted(
                    set(StepRun.objects.values_list("token_hash", flat=True))
                ),
                "idempotency_keys": list(
                    IdempotencyKey.objects.order_by("pk").values("key", "route", "fingerprint")
                ),
                "status_changes": status_changes,
                "metric_values": metric_values,
                "new_tables": new_tables,
                "pending": [str(migration) for migration, _ in pending],
                "password_checks": alice.check_password("alice-password"),
            },
            default=str,
        )
    )


if __name__ == "__main__":
    upgrade(Path(sys.argv[1]))
