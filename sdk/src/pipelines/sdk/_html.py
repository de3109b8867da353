"""How SDK objects show in Jupyter: a one-row table with a link to their studio page, as the
cloud SDK's widgets did."""

from __future__ import annotations

from html import escape


def html_table(cells: dict[str, str], link: str = "", link_text: str = "Link to the studio") -> str:
    """A small HTML table of ``cells`` (header → value) plus a link column; all text escaped."""
    headers = "".join(f"<th>{escape(name)}</th>" for name in cells)
    values = "".join(f"<td>{escape(str(value))}</td>" for value in cells.values())
    if link:
        headers += f"<th>{escape(link_text)}</th>"
        values += (
            f'<td><a href="{escape(link, quote=True)}" target="_blank" rel="noopener">'
            f"{escape(link_text)}</a></td>"
        )
    return f"<table><tr>{headers}</tr><tr>{values}</tr></table>"
