"""State changes of the chat app, one module per noun: bot clients, customers,
interactions, messages, authentication and sentiment. Each public function is one
transaction (or joins its caller's) and publishes live events only after commit."""
