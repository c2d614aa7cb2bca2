"""The template catalog: write-once versions with content digests, yanking and semver ranges, in
SQLite (the default) or PostgreSQL.

Layers, bottom up: ``semver`` (versions and specs, pure Python), ``safety`` (the rules for untrusted
bundles), ``publication`` (check, render with defaults and lint a bundle, no database), ``db`` / ``models``
/ ``migrate`` (storage), ``service`` (the operations; each takes a session first), ``checkout`` (a stored
version as a folder to render) and ``resolution`` (a template reference to a template, local or stored).
Importing the package or ``resolution`` loads no database code; ``pipeforge catalog`` is
``generator.cli.catalog``.
"""
