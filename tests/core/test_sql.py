"""core.sql: hand-written SQL reads and writes the same values the ORM does, on either
database (CI runs this on PostgreSQL, the default run on SQLite)."""

from datetime import timedelta

from django.utils import timezone

from core.sql import fetch_one, table
from pipelines.models import Experiment, PipelineRun, StepRun
from studio.models import ApiToken, Role


def new_run(team, **fields) -> PipelineRun:
    experiment = Experiment.objects.create(workspace=team.workspace, name="E")
    return PipelineRun(
        workspace=team.workspace,
        experiment=experiment,
        graph={"parameters": [], "steps": [{"name": "a", "snapshot": "x"}]},
        parameters={"n": 20, "text": "<b>ünïcode</b>", "flag": True, "none": None},
        tags={"k": "v"},
        submitted_by=team.admin,
        **fields,
    )


def test_insert_writes_what_the_orm_reads_back(team):
    dispatched = timezone.now() - timedelta(minutes=3)
    run = new_run(team, dispatched_at=dispatched)
    table(PipelineRun).insert([run])
    assert run.pk is not None and not run._state.adding
    stored = PipelineRun.objects.get(pk=run.pk)
    assert stored.parameters == {"n": 20, "text": "<b>ünïcode</b>", "flag": True, "none": None}
    assert stored.graph == run.graph and stored.tags == {"k": "v"}
    assert stored.dispatched_at == dispatched
    assert stored.submitted_by_id == team.admin.pk and stored.experiment.name == "E"


def test_load_builds_the_instance_the_orm_builds(team):
    run = new_run(team, finished_at=timezone.now())
    run.save()
    runs = table(PipelineRun)
    row = fetch_one(f"SELECT {runs.columns('r')} FROM {runs.name} r WHERE r.id = %s", [run.pk])
    loaded, expected = runs.load(row), PipelineRun.objects.get(pk=run.pk)
    for field in PipelineRun._meta.concrete_fields:
        assert getattr(loaded, field.attname) == getattr(expected, field.attname), field.name
    assert loaded.finished_at.tzinfo is not None
    assert not loaded._state.adding


def test_only_defers_the_other_fields(team):
    run = new_run(team)
    run.save()
    step = StepRun.objects.create(run=run, name="a", log="x" * 1000, outputs={"model": "m"})
    steps = table(StepRun, "outputs")
    row = fetch_one(f"SELECT {steps.columns('s')} FROM {steps.name} s WHERE s.id = %s", [step.pk])
    assert len(row) == 2
    loaded = steps.load(row)
    assert loaded.outputs == {"model": "m"}
    assert loaded.get_deferred_fields() >= {"log", "name", "run_id"}


def test_insert_several_rows_sets_each_key(team):
    run = new_run(team)
    run.save()
    steps = [StepRun(run=run, name=name, position=i) for i, name in enumerate("abc")]
    table(StepRun).insert(steps)
    assert [s.pk for s in steps] == list(
        StepRun.objects.filter(run=run).order_by("position").values_list("pk", flat=True)
    )


def test_ignore_conflicts_leaves_the_row_out_and_says_so(team):
    table(Experiment).insert([Experiment(workspace=team.workspace, name="Once")])
    again = Experiment(workspace=team.workspace, name="Once")
    assert table(Experiment).insert([again], ignore_conflicts=True) is False
    assert again.pk is None
    assert Experiment.objects.filter(workspace=team.workspace, name="Once").count() == 1


def test_token_lookup_refuses_revoked_and_expired_tokens(team):
    token, secret = ApiToken.issue(
        team.workspace, name="t", role=Role.READER, created_by=team.admin
    )
    found = ApiToken.authenticate(secret)
    assert found.pk == token.pk and found.workspace == team.workspace
    assert found.created_by == team.admin
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert ApiToken.authenticate(secret) is None
    ApiToken.objects.filter(pk=token.pk).update(expires_at=None, revoked_at=timezone.now())
    assert ApiToken.authenticate(secret) is None


def test_a_token_with_no_creator_loads_with_none(team):
    # create_token makes such tokens: the LEFT JOIN finds no user.
    token, secret = ApiToken.issue(team.workspace, name="cli", role=Role.CONTRIBUTOR)
    found = ApiToken.authenticate(secret)
    assert found.pk == token.pk and found.workspace == team.workspace
    assert found.created_by is None and found.created_by_id is None
