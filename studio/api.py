"""The REST API (django-ninja). Routers of each app are added here."""

from ninja import NinjaAPI

api = NinjaAPI(
    title="Pipeline Studio API",
    version="1",
    description="Publish, version and run machine-learning pipelines.",
    urls_namespace="api",
)


@api.get("/health", tags=["meta"], summary="Liveness of the API")
def health(request):
    return {"status": "ok"}
