"""Studio pages for runs and experiments."""

from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import render

from studio.permissions import member_required

from .models import Experiment, PipelineRun

PAGE_SIZE = 25


@member_required
def run_list(request):
    runs = PipelineRun.objects.filter(workspace=request.workspace).select_related(
        "experiment", "pipeline_endpoint", "published_pipeline"
    )
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "pipelines/run_list.html", {"page": page})


@member_required
def experiment_list(request):
    experiments = Experiment.objects.filter(workspace=request.workspace).annotate(
        run_count=Count("runs")
    )
    page = Paginator(experiments, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "pipelines/experiment_list.html", {"page": page})
