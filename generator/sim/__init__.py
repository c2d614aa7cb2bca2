"""The failure simulator behind ``pipeforge simulate``: expressions, engine, ledger and matrix.

The public entry points live in ``generator.simulate``.
"""
