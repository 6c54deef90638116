"""Running a script in a fresh Python interpreter that imports this checkout's fastgd."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_python(script, *, drop=(), timeout=300):
    """subprocess.run of `python -c script` with the repository first on PYTHONPATH and the
    environment variables named in `drop` removed; output captured as text, never raising."""
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", script],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
