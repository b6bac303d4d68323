#!/usr/bin/env python3
"""Django's command-line utility; on a fresh machine it first sets up `.venv` itself.

`python3 manage.py runportal` runs the portal, `python3 manage.py runtests` the tests.
"""

import importlib.util
import os
import sys
from pathlib import Path


def _bootstrap() -> None:
    # Loaded by path: importing the `config` package would import Celery, which may not
    # be installed yet.
    path = Path(__file__).resolve().parent / "config" / "bootstrap.py"
    spec = importlib.util.spec_from_file_location("portal_bootstrap", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.ensure_venv()


def main() -> None:
    _bootstrap()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
