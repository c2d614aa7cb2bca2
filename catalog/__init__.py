"""The template catalog: write-once versions with content digests, yanking and semver ranges.

Storage lands with the catalog issue; the bundle format and digest it will store are
``generator.bundle``.
"""
