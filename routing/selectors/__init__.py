"""Reads of the routing app, one module per noun: queues, the candidates a routing run
weighs (and the rules it weighs them by), CSRs."""
