"""The database itself refuses endpoint rows that must never exist."""

import pytest
from django.db import IntegrityError, transaction

from endpoints.models import PipelineEndpoint, PipelineEndpointVersion
from pipelines.models import PublishedPipeline

GRAPH = {"parameters": [], "steps": []}


def published(workspace, name="P"):
    return PublishedPipeline.objects.create(workspace=workspace, name=name, graph=GRAPH)


def refused(make):
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def test_two_endpoints_of_one_name_in_a_workspace_are_refused(team):
    PipelineEndpoint.objects.create(workspace=team.workspace, name="Scoring")
    refused(lambda: PipelineEndpoint.objects.create(workspace=team.workspace, name="Scoring"))
    assert PipelineEndpoint.objects.filter(name="Scoring").count() == 1


def test_one_name_in_two_workspaces_is_fine(team):
    PipelineEndpoint.objects.create(workspace=team.workspace, name="Scoring")
    PipelineEndpoint.objects.create(workspace=team.other_workspace, name="Scoring")
    assert PipelineEndpoint.objects.filter(name="Scoring").count() == 2


def test_two_default_versions_on_one_endpoint_are_refused(team):
    endpoint = PipelineEndpoint.objects.create(workspace=team.workspace, name="E")
    p = published(team.workspace)
    PipelineEndpointVersion.objects.create(
        endpoint=endpoint, number=0, published_pipeline=p, is_default=True
    )
    refused(
        lambda: PipelineEndpointVersion.objects.create(
            endpoint=endpoint, number=1, published_pipeline=p, is_default=True
        )
    )
    assert endpoint.versions.count() == 1


def test_two_versions_with_one_number_are_refused(team):
    endpoint = PipelineEndpoint.objects.create(workspace=team.workspace, name="E")
    p = published(team.workspace)
    PipelineEndpointVersion.objects.create(endpoint=endpoint, number=0, published_pipeline=p)
    refused(
        lambda: PipelineEndpointVersion.objects.create(
            endpoint=endpoint, number=0, published_pipeline=p
        )
    )
    assert endpoint.versions.count() == 1


def test_version_pointing_at_another_workspaces_pipeline_is_refused(team):
    endpoint = PipelineEndpoint.objects.create(workspace=team.workspace, name="E")
    foreign = published(team.other_workspace, name="Foreign")
    refused(
        lambda: PipelineEndpointVersion.objects.create(
            endpoint=endpoint, number=0, published_pipeline=foreign
        )
    )
    assert endpoint.versions.count() == 0


def test_moving_a_version_to_another_workspaces_pipeline_is_refused(team):
    endpoint = PipelineEndpoint.objects.create(workspace=team.workspace, name="E")
    version = PipelineEndpointVersion.objects.create(
        endpoint=endpoint, number=0, published_pipeline=published(team.workspace)
    )
    foreign = published(team.other_workspace, name="Foreign")
    refused(
        lambda: PipelineEndpointVersion.objects.filter(pk=version.pk).update(
            published_pipeline=foreign
        )
    )
    version.refresh_from_db()
    assert version.published_pipeline.workspace == team.workspace


@pytest.mark.parametrize("model", ["endpoint", "published"])
def test_a_status_outside_active_and_disabled_is_refused(team, model):
    if model == "endpoint":
        row = PipelineEndpoint.objects.create(workspace=team.workspace, name="E")
    else:
        row = published(team.workspace)
    refused(lambda: type(row).objects.filter(pk=row.pk).update(status="Archived"))
