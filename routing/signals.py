"""Routing's hooks for the apps above it."""

from django.dispatch import Signal

# Sent after the transaction that released a wrap-up commits (the CSR finished it, or
# its time limit passed): kwargs `interaction_id`, `outcome` ("completed" or
# "timed_out"), `code_id` and `code` (the disposition code's id and slug, or None),
# `summary`. Reports updates the chat's fact row.
wrapup_released = Signal()
