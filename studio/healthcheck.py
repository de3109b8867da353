"""Health check of the web role, for containers: ``python -m studio.healthcheck [URL]``.

Asks ``URL/healthz`` (default ``http://127.0.0.1:8000``) with a Host header that
``ALLOWED_HOSTS`` accepts, so a production host list (``studio.example.com``) does not
answer 400; /healthz is exempt from the HTTPS redirect. Exits 0 when the web answers 200
(it ran a query), 1 otherwise. Reads only the environment: no Django start-up per check.
"""

import os
import sys
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8000"


def host_header(allowed_hosts: str) -> str:
    """A host name that ``allowed_hosts`` (ALLOWED_HOSTS, comma-separated) accepts."""
    first = next((h.strip() for h in allowed_hosts.split(",") if h.strip()), "localhost")
    if first == "*":
        return "localhost"
    return f"health{first}" if first.startswith(".") else first  # ".example.com" wildcards


def main(argv: list[str]) -> int:
    url = (argv[1] if len(argv) > 1 else DEFAULT_URL).rstrip("/") + "/healthz"
    request = urllib.request.Request(
        url, headers={"Host": host_header(os.environ.get("ALLOWED_HOSTS", ""))}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
    try:
        with opener.open(request, timeout=5) as response:
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"{url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
