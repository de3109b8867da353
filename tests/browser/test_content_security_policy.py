"""Every main page runs under the Content-Security-Policy with no violation in Chromium:
nothing inline is left for the policy to block (scripts, styles, event handlers)."""

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import expect

from studio.models import Membership, Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs before any page script, outside the page's policy: collects what the policy blocked.
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__violations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


@pytest.fixture
def pages(studio_data, team):
    """The URLs of the main pages, each with something on it."""
    endpoint = studio_data.endpoint("Churn scoring", description="Weekly churn")
    published = endpoint.versions.get().published_pipeline
    run = studio_data.run(endpoint=endpoint, status="Finished")
    studio_data.metric(run, "accuracy", 0.9)
    studio_data.metric(run, "accuracy", 0.95)
    step = run.steps.first()
    return [
        reverse("endpoints:endpoint_list"),
        reverse("endpoints:endpoint_detail", args=[endpoint.pk]),
        reverse("endpoints:endpoint_versions", args=[endpoint.pk]),
        reverse("endpoints:endpoint_runs", args=[endpoint.pk]),
        reverse("endpoints:endpoint_consume", args=[endpoint.pk]),
        reverse("endpoints:endpoint_submit", args=[endpoint.pk]),
        reverse("pipelines:published_list"),
        reverse("pipelines:published_detail", args=[published.pk]),
        reverse("pipelines:run_list"),
        reverse("pipelines:run_detail", args=[run.pk]) + f"?step={step.pk}",
        reverse("pipelines:experiment_list"),
        reverse("pipelines:experiment_detail", args=[run.experiment_id]),
        reverse("workspace_members"),
        reverse("workspace_tokens"),
        reverse("workspace_audit"),
        "/api/v1/docs",
    ]


def test_main_pages_break_no_rule_of_the_policy(page, live_server, sign_in, team, pages):
    blocked = []
    page.on(
        "console",
        lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.add_init_script(LISTEN)
    response = page.goto(f"{live_server.url}/accounts/login/")
    assert response.headers["content-security-policy"] == settings.CONTENT_SECURITY_POLICY
    sign_in(team.admin)
    for url in pages:
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == 200, url
        assert "content-security-policy" in response.headers, url
        page.wait_for_load_state()
        blocked += [f"{url}: {v}" for v in page.evaluate("window.__violations")]
    # htmx swaps (its indicator) and the switcher's submit-on-change run under the policy too.
    page.goto(f"{live_server.url}{reverse('endpoints:endpoint_list')}")
    page.get_by_label("Search").fill("churn")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    blocked += page.evaluate("window.__violations")
    # A second workspace (first by name, so current) puts the switcher in the header.
    Membership.objects.create(workspace=team.other_workspace, user=team.admin, role=Role.READER)
    page.reload()
    page.locator("#workspace-switcher").select_option(label=team.workspace.name)
    expect(page.locator("#workspace-switcher option[selected]")).to_have_text(team.workspace.name)
    blocked += page.evaluate("window.__violations")
    assert blocked == []
