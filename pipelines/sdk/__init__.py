"""Pipeline Studio's Python SDK: the published-pipeline vocabulary, over the REST API only.

This package imports no Django; it talks to a studio server through its REST API.
"""

from .run_context import Run

__all__ = ["Run"]
