"""State changes of the routing engine, one module per noun: routing requests and runs,
the engine, offers and the CSR's answers to them, presence, transfers, escalations and
the sweep. The lock order is routing/locks.py's."""
