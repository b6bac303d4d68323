"""Make `python3 manage.py ...` work on a fresh machine: create and fill `.venv`, then
re-run the same command inside it.

Standard library only: this runs before anything from requirements.txt is installed.
Inside any virtualenv (ours or the user's own) it does nothing.
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VENV_DIR = BASE_DIR / ".venv"
REQUIREMENTS = BASE_DIR / "requirements-dev.txt"
STAMP = VENV_DIR / ".requirements.sha256"
MINIMUM_PYTHON = (3, 11)


def in_virtualenv() -> bool:
    return sys.prefix != sys.base_prefix


def venv_python(venv_dir: Path = VENV_DIR) -> Path:
    if os.name == "nt":
        return venv_dir / "Scripts" / "python.exe"
    return venv_dir / "bin" / "python"


def requirements_digest(path: Path = REQUIREMENTS) -> str:
    """A hash of the requirements file and every file it includes with `-r`."""
    digest = hashlib.sha256()
    seen: set[Path] = set()
    pending = [path]
    while pending:
        current = pending.pop(0).resolve()
        if current in seen:
            continue
        seen.add(current)
        text = current.read_text()
        digest.update(current.name.encode() + b"\0" + text.encode() + b"\0")
        for line in text.splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] in ("-r", "--requirement"):
                pending.append(current.parent / words[1])
    return digest.hexdigest()


def _say(message: str) -> None:
    print(message, flush=True)


def _fail(message: str, code: int = 1) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(code)


def create_venv(venv_dir: Path = VENV_DIR) -> None:
    _say(f"Creating {venv_dir.name}… (a virtual environment for the portal's packages)")
    result = subprocess.run([sys.executable, "-m", "venv", str(venv_dir)], check=False)  # noqa: S603
    if result.returncode != 0 or not venv_python(venv_dir).exists():
        _fail(
            f"could not create {venv_dir}. On Debian or Ubuntu install the venv module "
            "first (apt-get install python3-venv), then run the command again.",
            result.returncode or 1,
        )


def install_requirements(venv_dir: Path = VENV_DIR, requirements: Path = REQUIREMENTS) -> None:
    """Install the requirements into the venv unless the stamp says they already are."""
    stamp = venv_dir / STAMP.name
    wanted = requirements_digest(requirements)
    if stamp.exists() and stamp.read_text().strip() == wanted:
        return
    _say(f"Installing requirements… ({requirements.name}; this takes a few minutes once)")
    command = [str(venv_python(venv_dir)), "-m", "pip", "install"]
    command += ["--disable-pip-version-check", "-r", str(requirements)]
    result = subprocess.run(command, check=False)  # noqa: S603
    if result.returncode != 0:
        stamp.unlink(missing_ok=True)
        _fail(
            f"installing {requirements.name} failed (pip exit code {result.returncode}, "
            "see its output above). Fix the cause and run the command again; if the "
            f"environment itself is broken, delete {venv_dir} first.",
            result.returncode,
        )
    stamp.write_text(wanted + "\n")
    _say("Requirements installed.")


def ensure_venv(argv: list[str] | None = None) -> None:
    """Outside a virtualenv: prepare `.venv` and re-execute `argv` with its Python.

    Returns only when already inside a virtualenv."""
    if in_virtualenv():
        return
    if sys.version_info < MINIMUM_PYTHON:
        wanted = ".".join(map(str, MINIMUM_PYTHON))
        _fail(f"the portal needs Python {wanted} or newer; this is {sys.version.split()[0]}.")
    if not venv_python().exists():
        create_venv()
    install_requirements()
    python = str(venv_python())
    args = list(sys.argv if argv is None else argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(python, [python, *args])  # noqa: S606
