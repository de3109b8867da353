"""What published pipelines and pipeline endpoints share: a REST collection of named objects
with a status, a run URL, lists that leave disabled ones out, and enable/disable."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ._html import html_table

if TYPE_CHECKING:
    from typing import Self

    from .workspace import Workspace


class RunnableResource:
    """A named object behind ``<collection>/{id}`` that can be run, enabled and disabled."""

    collection: ClassVar[str]

    def __init__(self, workspace: Workspace, details: dict[str, Any]) -> None:
        self.workspace = workspace
        self._details = details

    @classmethod
    def list(cls, workspace: Workspace, active_only: bool = True) -> list[Self]:
        """The workspace's objects of this kind; disabled ones only if not ``active_only``."""
        answer = workspace._http.get(
            cls.collection, params={"include_disabled": str(not active_only).lower()}
        )
        return [cls(workspace, item) for item in answer["Items"]]

    @classmethod
    def get_all(cls, workspace: Workspace, active_only: bool = True) -> list[Self]:
        """Same as :meth:`list` (the cloud SDK's name)."""
        return cls.list(workspace, active_only=active_only)

    @property
    def id(self) -> str:
        """The id on the server."""
        return str(self._details["Id"])

    @property
    def name(self) -> str:
        """The name."""
        return str(self._details.get("Name", ""))

    @property
    def description(self) -> str:
        """The description."""
        return str(self._details.get("Description") or "")

    @property
    def status(self) -> str:
        """``"Active"`` or ``"Disabled"`` (as last fetched)."""
        return str(self._details.get("Status", ""))

    @property
    def endpoint(self) -> str:
        """The REST URL that starts a run: POST ``{"ExperimentName", "ParameterAssignments"}``
        with ``Authorization: Bearer <token>``."""
        return str(self._details.get("Endpoint", ""))

    @property
    def _path(self) -> str:
        return f"{self.collection}/{self.id}"

    def _html_cells(self) -> dict[str, str]:
        return {"Name": self.name, "Id": self.id, "Status": self.status}

    def _repr_html_(self) -> str:
        cells = {**self._html_cells(), "Endpoint": self.endpoint}
        return html_table(cells, str(self._details.get("PageUrl") or ""))

    def get_details(self) -> dict[str, Any]:
        """Fetch and return the object as the server describes it."""
        self._details = self.workspace._http.get(self._path)
        return dict(self._details)

    def disable(self) -> None:
        """Disable it (Admin): new runs are refused and lists leave it out."""
        self._details = self.workspace._http.post(f"{self._path}/disable", idempotent=True)

    def enable(self) -> None:
        """Enable it again (Admin)."""
        self._details = self.workspace._http.post(f"{self._path}/enable", idempotent=True)
