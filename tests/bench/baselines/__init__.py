"""Baseline servers the chat latency benchmark compares the portal with.

The Django ones are imported as `baselines.<name>` (tests/bench on PYTHONPATH) from the
measured checkout's directory, so that their channel layer is that checkout's
config.settings; their own modules import each other relatively."""
