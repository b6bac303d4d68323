"""Hooks the chat app offers the apps built on it.

chat sits below routing (docs/architecture.md) and never imports it; when a chat closes,
routing has work of its own to do on it (withdraw a pending offer, give the CSR's room
to the next chat). It subscribes here, in its AppConfig.ready().
"""

from django.dispatch import Signal

# Sent by chat.services.interactions.interaction_end inside the transaction that closes
# an interaction, with its row locked: kwargs `interaction` (status `ended` or
# `abandoned`) and `csr_id` (the CSR who had it, or None). Receivers write in the same
# transaction and publish only after it commits.
interaction_closed = Signal()
