"""The registry: a thin HTTP skin (FastAPI) over the catalog and the generator: the JSON API under
``/api/v1``, server-rendered web pages, health and metrics. ``pipeforge serve`` runs it with uvicorn."""
