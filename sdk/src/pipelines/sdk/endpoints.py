"""Pipeline endpoints: one stable REST endpoint in front of numbered versions of published
pipelines, one of them the default."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ._resource import RunnableResource
from .errors import NotFoundError, StudioError
from .pipeline import Pipeline
from .published import PublishedPipeline
from .runs import PipelineRun, submit_body

if TYPE_CHECKING:
    from .workspace import Workspace


@dataclass(frozen=True)
class EndpointVersion:
    """One version of an endpoint: ``"0"``, ``"1"``… and the published pipeline behind it."""

    version: str
    pipeline_id: str
    pipeline_name: str
    pipeline_version: str
    is_default: bool

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> EndpointVersion:
        """Build it from a ``/versions`` item of the REST API."""
        return cls(
            version=str(item["Version"]),
            pipeline_id=str(item["PipelineId"]),
            pipeline_name=str(item.get("PipelineName") or ""),
            pipeline_version=str(item.get("PipelineVersion") or ""),
            is_default=bool(item.get("IsDefault")),
        )


def _published(workspace: Workspace, pipeline: PublishedPipeline | Pipeline, name: str) -> str:
    """The id of ``pipeline``, publishing it first when it is a draft :class:`Pipeline`."""
    if isinstance(pipeline, Pipeline):
        pipeline = pipeline.publish(name=name)
    if not isinstance(pipeline, PublishedPipeline):
        raise StudioError(f"Expected a PublishedPipeline or a Pipeline, got {pipeline!r}")
    return pipeline.id


class PipelineEndpoint(RunnableResource):
    """A named REST endpoint with versions ``"0"``, ``"1"``… of published pipelines.

    Submitting without a version runs the default; setting an older default is a rollback.
    Create one with :meth:`publish`, find one with :meth:`get` or :meth:`list` (also
    :meth:`get_all`). Disabling (archiving) it makes it refuse runs and leaves it out of lists.
    """

    collection = "/pipeline-endpoints"

    def __repr__(self) -> str:
        return (
            f"PipelineEndpoint(id={self.id!r}, name={self.name!r}, "
            f"default_version={self.default_version!r})"
        )

    def _html_cells(self) -> dict[str, str]:
        return {**super()._html_cells(), "Default version": self.default_version}

    @classmethod
    def publish(
        cls,
        workspace: Workspace,
        name: str,
        description: str,
        pipeline: PublishedPipeline | Pipeline,
    ) -> PipelineEndpoint:
        """Create an endpoint whose version ``"0"`` (and default) is ``pipeline``.

        A draft :class:`Pipeline` is published first under the endpoint's name.
        """
        body = {
            "Name": name,
            "Description": description or "",
            "PipelineId": _published(workspace, pipeline, name),
        }
        return cls(workspace, workspace._http.post(cls.collection, json=body))

    @classmethod
    def get(
        cls, workspace: Workspace, id: str | None = None, name: str | None = None
    ) -> PipelineEndpoint:
        """Fetch an endpoint by ``id`` or by ``name``; ``NotFoundError`` when there is none."""
        if id is not None:
            return cls(workspace, workspace._http.get(f"{cls.collection}/{id}"))
        if name:
            path = f"{cls.collection}/by-name/{quote(name, safe='')}"
            return cls(workspace, workspace._http.get(path))
        raise StudioError("PipelineEndpoint.get needs an id or a name")

    @property
    def default_version(self) -> str:
        """The default version as last fetched (see :meth:`get_default_version`)."""
        return str(self._details.get("DefaultVersion", ""))

    def _add_version(self, pipeline: PublishedPipeline | Pipeline, set_default: bool) -> None:
        body = {
            "PipelineId": _published(self.workspace, pipeline, self.name),
            "SetDefault": set_default,
        }
        self.workspace._http.post(f"{self._path}/versions", json=body)
        self.get_details()

    def add(self, pipeline: PublishedPipeline | Pipeline) -> None:
        """Add ``pipeline`` as the next version; the default stays as it is."""
        self._add_version(pipeline, set_default=False)

    def add_default(self, pipeline: PublishedPipeline | Pipeline) -> None:
        """Add ``pipeline`` as the next version and make it the default (Admin)."""
        self._add_version(pipeline, set_default=True)

    def set_default_version(self, version: str | int) -> None:
        """Make ``version`` the default (Admin); an older one is a rollback."""
        self._details = self.workspace._http.put(
            f"{self._path}/default-version", json={"Version": str(version)}
        )

    def set_default(self, pipeline: PublishedPipeline) -> None:
        """Make the version that holds ``pipeline`` the default; ``NotFoundError`` if none does."""
        for item in self.list_versions():
            if item.pipeline_id == str(pipeline.id):
                self.set_default_version(item.version)
                return
        raise NotFoundError(
            f"Published pipeline {pipeline.id} is not a version of endpoint {self.name!r}; "
            f"add it first"
        )

    def get_default_version(self) -> str:
        """Fetch and return the default version."""
        self.get_details()
        return self.default_version

    def list_versions(self) -> list[EndpointVersion]:
        """The endpoint's versions in order of addition."""
        answer = self.workspace._http.get(f"{self._path}/versions")
        return [EndpointVersion.from_api(item) for item in answer["Items"]]

    def list_pipelines(self) -> list[PublishedPipeline]:
        """The published pipelines behind the versions, in version order."""
        return [
            PublishedPipeline.get(self.workspace, item.pipeline_id) for item in self.list_versions()
        ]

    def get_pipeline(self, version: str | int | None = None) -> PublishedPipeline:
        """The published pipeline of ``version`` (default: the default version)."""
        wanted = str(version) if version is not None else self.get_default_version()
        for item in self.list_versions():
            if item.version == wanted:
                return PublishedPipeline.get(self.workspace, item.pipeline_id)
        raise NotFoundError(f"Endpoint {self.name!r} has no version {wanted!r}")

    def set_name(self, name: str) -> None:
        """Rename the endpoint (Admin); its id and URL stay the same."""
        self._details = self.workspace._http.request(
            "PATCH", self._path, json={"Name": name}, idempotent=True
        )

    def submit(
        self,
        experiment_name: str,
        pipeline_parameters: dict[str, Any] | None = None,
        pipeline_version: str | int | None = None,
        description: str | None = None,
    ) -> PipelineRun:
        """Run the default version, or ``pipeline_version``, in ``experiment_name``.

        Refused with ``ConflictError`` when the endpoint or that version's pipeline is
        disabled, ``NotFoundError`` for an unknown version, ``BadRequestError`` naming a wrong
        parameter.
        """
        body = submit_body(
            experiment_name,
            pipeline_parameters,
            description=description,
            pipeline_version=None if pipeline_version is None else str(pipeline_version),
        )
        answer = self.workspace._http.submit(f"{self._path}/runs", body)
        return PipelineRun(self.workspace, answer["Id"], answer)

    def archive(self) -> None:
        """Same as :meth:`disable` (the cloud SDK's name)."""
        self.disable()

    def reactivate(self) -> None:
        """Same as :meth:`enable` (the cloud SDK's name)."""
        self.enable()
