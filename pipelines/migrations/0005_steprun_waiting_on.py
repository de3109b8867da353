"""Each step run counts the steps it still waits for (``StepRun.waiting_on``), so a step
completion touches only the steps waiting for it; the runs in flight get their counts."""

from django.db import migrations, models

from core.sql import sqlite_renames_check_triggers_again, sqlite_renames_skip_trigger_checks

ENDED = ("Finished", "Failed", "Canceled")


def count_waiting(apps, schema_editor):
    """For the steps of runs not ended yet: how many steps each waits for are not Finished."""
    PipelineRun = apps.get_model("pipelines", "PipelineRun")
    StepRun = apps.get_model("pipelines", "StepRun")
    for run in PipelineRun.objects.exclude(status__in=ENDED).only("graph").iterator():
        graph = run.graph or {}
        writers = {d: s["name"] for s in graph.get("steps", []) for d in s.get("outputs", [])}
        steps = {s.name: s for s in StepRun.objects.filter(run_id=run.pk).only("name", "status")}
        for spec in graph.get("steps", []):
            step = steps.get(spec["name"])
            if step is None:
                continue
            upstream = {writers[d] for d in spec.get("inputs", []) if d in writers}
            upstream |= set(spec.get("run_after", []))
            upstream.discard(spec["name"])
            waiting = sum(
                1 for name in upstream if name in steps and steps[name].status != "Finished"
            )
            if waiting:
                StepRun.objects.filter(pk=step.pk).update(waiting_on=waiting)


class Migration(migrations.Migration):
    dependencies = [
        ("pipelines", "0004_status_reason"),
    ]

    operations = [
        sqlite_renames_skip_trigger_checks(),
        migrations.AddField(
            model_name="steprun",
            name="waiting_on",
            field=models.IntegerField(default=0),
        ),
        migrations.AddIndex(
            model_name="steprun",
            index=models.Index(fields=["run", "status", "position"], name="step_run_status"),
        ),
        migrations.AddIndex(
            model_name="steprun",
            index=models.Index(fields=["run", "position"], name="step_run_position"),
        ),
        sqlite_renames_check_triggers_again(),
        migrations.RunPython(count_waiting, migrations.RunPython.noop),
    ]
