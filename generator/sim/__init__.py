"""The failure simulator behind ``pipeforge simulate``: the step catalogue (``catalogue``), validation
(``validate``), the engine (``engine``, with ``variables``, ``composite``, ``retry``, ``gate``,
``containerset``), side effects (``effects``, ``inferred`` from commands, ``ledger``), the verdicts
(``verdict``) and the fault matrix (``matrix``).

The public entry points live in ``generator.simulate``.
"""
