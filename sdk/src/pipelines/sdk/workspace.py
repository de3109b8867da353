"""The workspace: where the server is, the token to use, and the config file that remembers them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ._http import HttpClient
from .errors import StudioError
from .snapshots import Snapshot, ensure_uploaded

CONFIG_DIR = ".studio"
CONFIG_FILE = "config.json"


class Workspace:
    """A team's workspace on a studio server, reached with one API token.

    ``Workspace(url, token)`` connects explicitly; :meth:`from_config` reads a config file or the
    ``STUDIO_URL``/``STUDIO_TOKEN`` environment variables. The token decides the workspace and
    the role (Reader, Contributor or Admin); :attr:`name` and :attr:`role` ask the server.

    ``retries`` and ``backoff_seconds`` tune how network failures are retried (delays of
    ``backoff_seconds * 2**n``); ``timeout_seconds`` bounds each request.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        retries: int = 4,
        backoff_seconds: float = 0.5,
        timeout_seconds: float = 30.0,
    ) -> None:
        if not url or not url.startswith(("http://", "https://")):
            raise StudioError(f"Workspace url must start with http:// or https://, got {url!r}")
        if not token:
            raise StudioError("Workspace token is empty; create one in the studio's Tokens page")
        self.url = url.rstrip("/")
        self._token = token
        self._details: dict[str, Any] | None = None
        self._known_snapshots: set[str] = set()
        self._http = HttpClient(
            self.url,
            token,
            retries=retries,
            backoff_seconds=backoff_seconds,
            timeout_seconds=timeout_seconds,
        )

    def __repr__(self) -> str:
        return f"Workspace(url={self.url!r})"

    @classmethod
    def from_config(cls, path: str | os.PathLike[str] | None = None, **options: Any) -> Workspace:
        """Load the workspace from a JSON config file or the environment.

        With ``path`` (a file, or a folder holding ``config.json`` or ``.studio/config.json``)
        that file is read. Without it, ``STUDIO_URL`` and ``STUDIO_TOKEN`` are used when both are
        set; otherwise the current folder and its parents are searched for
        ``.studio/config.json`` (what :meth:`write_config` writes). The file holds
        ``{"url", "token", "workspace"}``. ``options`` go to the constructor (retries, timeouts).
        """
        if path is None and os.environ.get("STUDIO_URL") and os.environ.get("STUDIO_TOKEN"):
            return cls(os.environ["STUDIO_URL"], os.environ["STUDIO_TOKEN"], **options)
        config_path = _find_config(Path(path) if path is not None else None)
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StudioError(f"Cannot read the workspace config {config_path}: {exc}") from exc
        missing = [
            key for key in ("url", "token") if not (isinstance(config, dict) and config.get(key))
        ]
        if missing:
            raise StudioError(f"The workspace config {config_path} lacks {', '.join(missing)}")
        return cls(config["url"], config["token"], **options)

    def write_config(
        self, path: str | os.PathLike[str] | None = None, file_name: str | None = None
    ) -> Path:
        """Write ``{"url", "token", "workspace"}`` to ``<path>/.studio/<file_name>``.

        ``path`` defaults to the current folder and ``file_name`` to ``config.json``. The file
        holds a secret, so it is created readable by its owner only. Returns its path.
        """
        folder = Path(path or ".") / CONFIG_DIR
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / (file_name or CONFIG_FILE)
        body = {"url": self.url, "token": self._token, "workspace": self.name}
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(body, handle, indent=2)
            handle.write("\n")
        return target

    def get_authentication_header(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}``, for calling REST endpoints with ``requests``."""
        return {"Authorization": f"Bearer {self._token}"}

    def get_details(self) -> dict[str, Any]:
        """The server's description of this workspace and the token's role (``GET /workspace``)."""
        if self._details is None:
            self._details = self._http.get("/workspace")
        return dict(self._details)

    @property
    def name(self) -> str:
        """The workspace's name (or slug) on the server."""
        details = self.get_details()
        return str(details.get("Name") or details.get("Slug") or details.get("Id") or "")

    @property
    def role(self) -> str:
        """The token's role in this workspace: ``"reader"``, ``"contributor"`` or ``"admin"``."""
        return str(self.get_details().get("Role", ""))

    def upload_snapshot(self, snapshot: Snapshot) -> bool:
        """Make sure the server holds ``snapshot``; return whether it had to be uploaded."""
        if snapshot.sha256 in self._known_snapshots:
            return False
        uploaded = ensure_uploaded(self._http, snapshot)
        self._known_snapshots.add(snapshot.sha256)
        return uploaded


def _find_config(path: Path | None) -> Path:
    if path is not None:
        if path.is_file():
            return path
        for candidate in (path / CONFIG_FILE, path / CONFIG_DIR / CONFIG_FILE):
            if candidate.is_file():
                return candidate
        raise StudioError(f"No workspace config at {path}")
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_DIR / CONFIG_FILE
        if candidate.is_file():
            return candidate
    raise StudioError(
        "No workspace config found: set STUDIO_URL and STUDIO_TOKEN, pass a path, or call "
        "Workspace(url, token).write_config() once"
    )
