"""What the routes call: each function takes the ``Registry`` (catalog, caches, settings) first and does
the work; the routes only translate between HTTP and these."""
