"""Pages of a list: one paginator, one ``page_of``, one template (``_pagination.html``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

PAGE_SIZE = 25


class CappedPaginator(Paginator):
    """A paginator that counts at most ``COUNT_CAP`` + 1 rows.

    Counting 100,000 runs on every page view costs more than the rest of the page; past the
    cap, "more than 10,000" is all a person needs (filters narrow it down).
    """

    COUNT_CAP = 10_000

    @cached_property
    def count(self) -> int:
        # Only the ids, unordered and unjoined: the database counts from an index. A list
        # that pages its rows another way (several queries) names the queryset to count.
        rows = getattr(self.object_list, "counted", self.object_list)
        ids = rows.order_by().values("pk")
        return ids[: self.COUNT_CAP + 1].count()

    @property
    def is_capped(self) -> bool:
        return self.count > self.COUNT_CAP

    @property
    def count_label(self) -> str:
        """The row count as shown: "1,234", or "more than 10,000"."""
        return f"more than {self.COUNT_CAP:,}" if self.is_capped else f"{self.count:,}"


def page_of(
    queryset: QuerySet,
    number,
    annotate: Callable[[QuerySet], QuerySet] | None = None,
    per_page: int | None = None,
) -> Page:
    """Page ``number`` of ``queryset``, ``per_page`` rows (default ``PAGE_SIZE``).

    ``annotate`` adds per-row columns (subqueries) for the rows of this page only: the database
    would otherwise compute them for every row it skips to reach a later page.
    """
    per_page = per_page or PAGE_SIZE
    if annotate is None:
        return CappedPaginator(queryset, per_page).get_page(number)
    page = CappedPaginator(queryset.values_list("pk", flat=True), per_page).get_page(number)
    ids = list(page.object_list)
    rows = annotate(queryset).in_bulk(ids)
    page.object_list = [rows[pk] for pk in ids if pk in rows]
    return page
