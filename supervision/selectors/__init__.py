"""Reads of the manager tools: one module per page (queues, CSRs, chats, health), the
manager's scope and the alerts. The live figures are defined once, here, and shared
with reports' definitions (docs/reports.md, docs/supervision.md)."""
