"""The registry: a FastAPI service and web page over the catalog (lands with the registry issue)."""
