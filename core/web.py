"""Helpers every page shares: whole page or htmx partial, and public links."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import redirect, render
from django_htmx.http import HttpResponseClientRedirect


def page_or_partial(request, template: str, context: dict, *, target="results", partial=None):
    """Render ``template``, or only its partial when htmx asks to swap ``#<target>``.

    The partial is ``template#<partial>`` (django-template-partials); ``partial`` defaults to
    ``target``. Every list whose table, filters or pagination swap ``#results`` uses this.
    """
    if request.htmx.target == target:
        template = f"{template}#{partial or target}"
    return render(request, template, context)


def go_to(request, url: str):
    """Send the browser to ``url`` after a form: an htmx request (a dialog's form) is told
    to load the page itself, a plain form gets an ordinary redirect."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def absolute_url(request, path: str) -> str:
    """``path`` on the studio's public address (STUDIO_BASE_URL, else the request's host)."""
    base = settings.STUDIO_BASE_URL or request.build_absolute_uri("/").rstrip("/")
    return f"{base}{path}"
