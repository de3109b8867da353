"""Studio pages for pipeline endpoints, published pipelines and their runs."""

from django.core.paginator import Paginator
from django.shortcuts import render

from studio.permissions import member_required

from .models import PipelineEndpoint

PAGE_SIZE = 25


@member_required
def endpoint_list(request):
    endpoints = PipelineEndpoint.objects.filter(workspace=request.workspace).order_by("name")
    page = Paginator(endpoints, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "endpoints/endpoint_list.html", {"page": page, "tab": "endpoints"})
