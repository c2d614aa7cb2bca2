"""pipeforge: safe-by-default Argo Workflows pipelines."""

__version__ = "0.1.0"
