"""State changes of the manager tools: one module per noun, each change audited."""
