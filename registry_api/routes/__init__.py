"""One module per resource; each an ``APIRouter`` whose handlers call ``registry_api.services``."""
