from django.contrib import admin

from .models import PipelineEndpoint, PipelineEndpointVersion


class VersionInline(admin.TabularInline):
    model = PipelineEndpointVersion
    extra = 0
    fields = ["number", "published_pipeline", "is_default", "added_by_label", "added_at"]
    readonly_fields = fields
    can_delete = False


@admin.register(PipelineEndpoint)
class PipelineEndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "status", "created_at", "updated_at"]
    list_filter = ["status", "workspace"]
    search_fields = ["name", "description"]
    inlines = [VersionInline]


@admin.register(PipelineEndpointVersion)
class PipelineEndpointVersionAdmin(admin.ModelAdmin):
    list_display = ["endpoint", "number", "published_pipeline", "is_default", "added_at"]
    list_filter = ["is_default"]
    search_fields = ["endpoint__name", "published_pipeline__name"]
    raw_id_fields = ["endpoint", "published_pipeline"]
