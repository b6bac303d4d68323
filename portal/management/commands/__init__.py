"""The portal's management commands: runportal, runtests, seed_demo."""
