"""The CSR's assistant for a service case: ranking case types against the conversation
(ranking), finding values in the customer's messages (extract) and pre-filling a form
(prefill). The chat-facing entry points are in cases.assistant.panel."""
