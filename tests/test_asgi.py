"""The ASGI process hands the GIL over more often than Python's default, so that a
database or Redis reply a thread waits for is picked up without a 5 ms wait behind the
busy event loop (config/asgi.py)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_asgi_module_shortens_the_gil_switch_interval():
    # In a process of its own, as daphne imports it (the setting is process-wide).
    script = (
        "import sys\n"
        "default = sys.getswitchinterval()\n"
        "import config.asgi\n"
        "assert sys.getswitchinterval() < default, (sys.getswitchinterval(), default)\n"
        "assert abs(sys.getswitchinterval() - config.asgi.GIL_SWITCH_INTERVAL_SECONDS) < 1e-6\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
