"""Pull requests into GitOps repositories: render a pipeline into a folder of a repository on a stable
branch, through the real ``git`` CLI, idempotently and without ever putting a credential on disk."""
