from django.contrib import admin

from .models import (
    Experiment,
    IdempotencyKey,
    Metric,
    Pipeline,
    PipelineRun,
    PublishedPipeline,
    SourceSnapshot,
    StepRun,
    WorkerHeartbeat,
)


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "created_at"]
    list_filter = ["workspace"]
    search_fields = ["name"]


@admin.register(SourceSnapshot)
class SourceSnapshotAdmin(admin.ModelAdmin):
    list_display = ["sha256", "workspace", "size", "created_at"]
    list_filter = ["workspace"]
    search_fields = ["sha256"]
    readonly_fields = ["sha256", "size", "files", "archive"]


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ["__str__", "workspace", "created_by", "created_at"]
    list_filter = ["workspace"]
    search_fields = ["name", "description"]


@admin.register(PublishedPipeline)
class PublishedPipelineAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "status", "workspace", "published_by_label", "published_at"]
    list_filter = ["status", "workspace"]
    search_fields = ["name", "description", "version"]
    readonly_fields = ["graph", "published_at"]


class StepRunInline(admin.TabularInline):
    model = StepRun
    extra = 0
    fields = [
        "name",
        "status",
        "compute_target",
        "exit_code",
        "attempts",
        "started_at",
        "finished_at",
    ]
    readonly_fields = fields
    show_change_link = True


@admin.register(PipelineRun)
class PipelineRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "experiment",
        "status",
        "pipeline_endpoint",
        "endpoint_version",
        "published_pipeline",
        "run_source",
        "submitted_by_label",
        "created_at",
    ]
    list_filter = ["status", "run_source", "workspace"]
    search_fields = ["id", "experiment__name", "description", "submitted_by_label"]
    date_hierarchy = "created_at"
    list_select_related = ["experiment", "pipeline_endpoint", "published_pipeline"]
    raw_id_fields = ["pipeline", "published_pipeline", "pipeline_endpoint", "resubmitted_from"]
    inlines = [StepRunInline]


@admin.register(StepRun)
class StepRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "run",
        "name",
        "status",
        "compute_target",
        "exit_code",
        "attempts",
        "worker",
        "started_at",
        "finished_at",
    ]
    list_filter = ["status", "compute_target"]
    search_fields = ["name", "run__id", "worker"]
    raw_id_fields = ["run", "reused_from"]


@admin.register(Metric)
class MetricAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "value", "run", "step_run", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name"]
    raw_id_fields = ["run", "step_run"]


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ["principal", "key", "run", "created_at"]
    search_fields = ["principal", "key"]
    raw_id_fields = ["run"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "hostname", "queues", "pid", "started_at", "seen_at", "stopped_at"]
    search_fields = ["name", "hostname"]
    readonly_fields = [
        "name",
        "hostname",
        "queues",
        "pid",
        "interval",
        "started_at",
        "seen_at",
        "stopped_at",
    ]
