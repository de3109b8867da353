"""Published pipelines: immutable, versioned pipelines, each with its own REST endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._resource import RunnableResource
from .runs import PipelineRun, submit_body

if TYPE_CHECKING:
    from .workspace import Workspace


class PublishedPipeline(RunnableResource):
    """A published pipeline: name, description, version string, status and a REST endpoint.

    Get one with :meth:`get` or :meth:`list` (also :meth:`get_all`), or from
    ``PipelineRun.publish_pipeline`` and ``Pipeline.publish``. A Disabled one refuses new runs
    and is left out of lists by default; :meth:`enable` and :meth:`disable` need the Admin role.
    """

    collection = "/published-pipelines"

    def __repr__(self) -> str:
        return (
            f"PublishedPipeline(id={self.id!r}, name={self.name!r}, version={self.version!r}, "
            f"status={self.status!r})"
        )

    def _html_cells(self) -> dict[str, str]:
        return {**super()._html_cells(), "Version": self.version}

    @classmethod
    def get(cls, workspace: Workspace, id: str) -> PublishedPipeline:
        """Fetch the published pipeline with this id; ``NotFoundError`` when there is none."""
        return cls(workspace, workspace._http.get(f"{cls.collection}/{id}"))

    @property
    def version(self) -> str:
        """Its version string, as given at publish time."""
        return str(self._details.get("Version") or "")

    @property
    def graph(self) -> dict[str, Any]:
        """The frozen graph document of the pipeline."""
        if "Graph" not in self._details:
            self.get_details()
        return self._details["Graph"]

    @property
    def parameters(self) -> list[dict[str, Any]]:
        """The pipeline's parameters: ``[{"Name", "Type", "DefaultValue"}]``."""
        return list(self._details.get("Parameters") or [])

    def submit(
        self,
        workspace: Workspace,
        experiment_name: str,
        pipeline_parameters: dict[str, Any] | None = None,
        description: str | None = None,
    ) -> PipelineRun:
        """Start a run in ``experiment_name``; ``pipeline_parameters`` override the defaults.

        Refused with ``ConflictError`` when the pipeline is disabled, and with
        ``BadRequestError`` naming the parameter when a value is unknown or of the wrong type.
        """
        answer = workspace._http.submit(
            f"{self._path}/runs",
            submit_body(experiment_name, pipeline_parameters, description=description),
        )
        return PipelineRun(workspace, answer["Id"], answer)
