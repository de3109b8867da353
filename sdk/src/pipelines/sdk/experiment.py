"""Experiments: the names that group runs, and the submit call that starts a pipeline run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .endpoints import PipelineEndpoint
from .errors import StudioError
from .pipeline import Pipeline
from .published import PublishedPipeline
from .runs import PipelineRun, submit_body

if TYPE_CHECKING:
    from .workspace import Workspace


class Experiment:
    """A named group of runs in a workspace; created on the server with its first run."""

    def __init__(self, workspace: Workspace, name: str) -> None:
        if not isinstance(name, str) or not name.strip():
            raise StudioError("An experiment needs a non-empty name")
        self.workspace = workspace
        self.name = name

    def __repr__(self) -> str:
        return f"Experiment(name={self.name!r})"

    def submit(
        self,
        config: Pipeline | PublishedPipeline | PipelineEndpoint,
        pipeline_parameters: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        *,
        description: str | None = None,
        regenerate_outputs: bool = False,
    ) -> PipelineRun:
        """Start a run of ``config`` in this experiment and return it (it runs on the server).

        ``config`` is usually a :class:`Pipeline`: its source folders are uploaded (unless the
        server has them), the pipeline is stored and a run submitted with one
        ``Idempotency-Key``, so a retried request never starts two runs. A
        :class:`PublishedPipeline` or :class:`PipelineEndpoint` (default version) works too.
        ``regenerate_outputs=True`` runs every step even when an identical earlier one could be
        reused.
        """
        if isinstance(config, PublishedPipeline):
            return config.submit(self.workspace, self.name, pipeline_parameters, description)
        if isinstance(config, PipelineEndpoint):
            return config.submit(self.name, pipeline_parameters, description=description)
        if not isinstance(config, Pipeline):
            raise StudioError(f"Cannot submit {config!r}: expected a Pipeline")
        pipeline_id = config._create_draft(self.name, allow_reuse=not regenerate_outputs)
        body = submit_body(self.name, pipeline_parameters, description=description, tags=tags)
        answer = self.workspace._http.submit(f"/pipelines/{pipeline_id}/runs", body)
        return PipelineRun(self.workspace, answer["Id"], answer)

    def get_runs(self) -> Iterator[PipelineRun]:
        """This experiment's runs, newest first, fetched a page at a time as you iterate."""
        params: dict[str, Any] = {"experiment": self.name, "limit": 100}
        while True:
            answer = self.workspace._http.get("/runs", params=params)
            for item in answer["Items"]:
                yield PipelineRun(self.workspace, item["Id"], item)
            if not answer.get("NextCursor"):
                return
            params["cursor"] = answer["NextCursor"]
