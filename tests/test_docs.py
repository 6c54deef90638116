"""Every example in README.md and docs/*.md runs as written.

How a fenced block is treated depends on its info string:

- ```python: run by a fresh interpreter in a new temporary folder. A comment after a `print(...)`
  is the line that print is expected to write ("…" or "..." stands for any text), so a block
  whose prints have comments must print one line per print, in order.
- ```bash and ```console: the lines that start with `fastgd ` or `python3 -c` (after an optional
  "$ " prompt) run in order, in one new temporary folder per block; `fastgd` runs as
  `python -m fastgd` with this checkout's package. In a console block, the lines after a command
  are its expected output (matched in order; other lines may come between them), and a comment
  "exit status N" on the command line is the status expected (0 otherwise).
- ```python gpu: needs an NVIDIA GPU and CuPy; skipped without them (an expected skip).
- ```python cluster: needs a remote Dask cluster and object storage; never run here.
- ```console lecture-data: needs the lecture's data file from ../shared/data (tests/shared.py).
- ```text: recorded output or a synopsis, never run.

Only blocks that run something are collected as tests. The other lines of shell blocks are
commands that CI runs by other means, and `test_every_shell_command_is_run_somewhere` checks
that each one is: `pip install` lines (.ci/install_order.sh runs the README's; the extras must
exist in pyproject.toml), test and benchmark commands (their files must exist: CI runs tests/
and, in its quick mode, bench/), and the checks of .ci/run. Any other info string or command
fails, so that an example cannot stay unchecked by accident.
"""

from __future__ import annotations

import functools
import io
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import tokenize

import pytest
from shared import shared_data

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
KNOWN = {
    "python",
    "python gpu",
    "python cluster",
    "bash",
    "console",
    "console lecture-data",
    "text",
}
RUNS = ("fastgd ", "python3 -c ")
TIMEOUT = 180


def _blocks(path):
    """(first line number, info string, source) of each fenced block of a Markdown file."""
    blocks, info, start, lines = [], None, 0, []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fence = re.match(r"^\s*```(.*)$", line)
        if info is None and fence:
            info, start, lines = fence.group(1).strip(), number, []
            indent = len(line) - len(line.lstrip())
        elif info is not None and fence and not fence.group(1).strip():
            blocks.append((start, info, "\n".join(lines) + "\n"))
            info = None
        elif info is not None:
            lines.append(line[indent:] if line[:indent].isspace() else line)
    assert info is None, f"{path.name}:{start}: unclosed code block"
    return blocks


def _runs(info, source):
    """Whether a block runs anything here (the others are checked by `_checked_elsewhere`)."""
    if info == "text":
        return False
    if info in ("bash", "console"):
        return bool(_commands(source, info == "console"))
    return True


def _cases():
    cases = []
    for path in DOCUMENTS:
        for start, info, source in _blocks(path):
            label = f"{path.relative_to(ROOT)}:{start}"
            if info not in KNOWN or _runs(info, source):
                cases.append(pytest.param(label, info, source, id=label))
    return cases


def _environment():
    """The environment a user has: this checkout's package first, no CUDA simulator."""
    env = dict(os.environ)
    env.pop("NUMBA_ENABLE_CUDASIM", None)  # tests/conftest.py sets it for the CUDA tests
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"
    return env


@functools.lru_cache(maxsize=1)
def _gpu_problem():
    """Why the `python gpu` examples cannot run here, or None."""
    probe = (
        "import importlib.util, numba.cuda;"
        "print('no GPU' if not numba.cuda.is_available() else "
        "'no CuPy' if importlib.util.find_spec('cupy') is None else '')"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=_environment()
    )
    reason = done.stdout.strip() if done.returncode == 0 else "numba.cuda cannot be imported"
    return reason or None


def _pattern(expected):
    """A regular expression for an expected line, "…" or "..." standing for any text."""
    parts = re.split(r"…|\.\.\.", expected.strip())
    return re.compile(".*".join(re.escape(part) for part in parts))


def _print_comments(source):
    """The comment after each print(...) line, in order (None where there is none)."""
    comments = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string[1:].strip()
    return [
        comments.get(number)
        for number, line in enumerate(source.splitlines(), 1)
        if line.lstrip().startswith("print(")
    ]


def _run(argv, cwd, label):
    done = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, env=_environment(), timeout=TIMEOUT
    )
    return done, f"{label}: {shlex.join(argv)}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"


def _run_python(label, source, cwd):
    done, report = _run([sys.executable, "-c", source], cwd, label)
    assert done.returncode == 0, report
    expected = _print_comments(source)
    if any(comment is not None for comment in expected):
        lines = done.stdout.splitlines()
        assert len(lines) == len(expected), f"one line per print expected\n{report}"
        for comment, line in zip(expected, lines):
            if comment is not None:
                assert _pattern(comment).fullmatch(line.strip()), f"{comment!r}\n{report}"


def _commands(source, console):
    """(command line, expected output lines) for each line of a shell block that runs."""
    commands = []
    for line in source.splitlines():
        if console and not line.startswith("$ "):
            if commands and line.strip():
                commands[-1][1].append(line)
            continue
        text = line[2:] if console else line
        # A command that is not run still ends the output of the one before it.
        commands.append((text if text.startswith(RUNS) else None, []))
    return [(text, expected) for text, expected in commands if text is not None]


def _run_shell(label, source, cwd, console):
    commands = _commands(source, console)
    assert commands, f"{label}: nothing to run (not collected: see _runs)"
    for text, expected in commands:
        argv = shlex.split(text, comments=True)
        argv = [sys.executable, "-m", "fastgd", *argv[1:]] if argv[0] == "fastgd" else argv
        argv[0] = sys.executable if argv[0] == "python3" else argv[0]
        status = re.search(r"#.*exit status (\d+)", text)
        done, report = _run(argv, cwd, label)
        assert done.returncode == (int(status.group(1)) if status else 0), report
        if console:
            lines = iter(done.stdout.splitlines() + done.stderr.splitlines())
            for line in expected:
                pattern = _pattern(line)
                assert any(pattern.fullmatch(out.strip()) for out in lines), f"{line!r}\n{report}"


CASES = _cases()


@pytest.mark.parametrize(("label", "info", "source"), CASES)
def test_example_runs(label, info, source, tmp_path):
    assert info in KNOWN, f"{label}: unknown info string {info!r} (known: {sorted(KNOWN)})"
    if info == "python cluster":
        pytest.skip("needs a remote Dask cluster and object storage")
    if info == "python gpu" and _gpu_problem():
        pytest.skip(f"needs an NVIDIA GPU and CuPy: {_gpu_problem()}")
    if info == "console lecture-data":
        data = shared_data("lecture_data.csv")
        shutil.copy(data, tmp_path / data.name)
    if info.startswith("python"):
        _run_python(label, source, tmp_path)
    else:
        _run_shell(label, source, tmp_path, console=info.startswith("console"))


def _extras():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = text.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    return set(re.findall(r"^([a-z]+) = \[", section, flags=re.MULTILINE))


def _checked_elsewhere(command):
    """Why a shell command that the docs show but this file does not run is run elsewhere, or
    None. `command` is one part of a line between `&&`."""
    argv = shlex.split(command, comments=True)
    while argv and re.fullmatch(r"[A-Z_]+=\S*", argv[0]):
        argv = argv[1:]  # VARIABLE=value before the command
    if not argv:
        return "empty"
    if argv[:4] == ["python3", "-m", "pip", "install"]:
        extras = set()
        for target in argv[4:]:
            extras |= (
                set(re.findall(r"\[([a-z,]+)\]", target)[0].split(",")) if "[" in target else set()
            )
        missing = extras - _extras()
        return None if missing else "install (.ci/install_order.sh; the extras exist)"
    if argv[:3] == ["python3", "-m", "pytest"]:
        paths = [a for a in argv[3:] if not a.startswith("-")]
        if all((ROOT / p.split("::")[0]).exists() for p in paths):
            return "tests or benchmarks (CI runs tests/ and bench/ in its quick mode)"
        return None
    if argv[0] in ("python3", "bash") and len(argv) > 1 and (ROOT / argv[1]).is_file():
        return f"a script of this repository ({argv[1]})"
    if argv[0] in ("ruff", "mypy"):
        return ".ci/run's checks"
    return None


def test_every_shell_command_is_run_somewhere():
    seen = 0
    for path in DOCUMENTS:
        for start, info, source in _blocks(path):
            if info not in ("bash", "console"):
                continue
            run_here = {text for text, _ in _commands(source, info == "console")}
            for line in source.splitlines():
                if info == "console" and not line.startswith("$ "):
                    continue  # the output of a command
                line = line.removeprefix("$ ")
                if not line.strip() or line in run_here:
                    continue
                if path.name == "README.md" and line.startswith("python3 -m pip install"):
                    seen += 1  # the two commands, which .ci/install_order.sh runs as written
                    continue
                for command in line.split("&&"):
                    seen += 1
                    assert _checked_elsewhere(command), (
                        f"{path.name}:{start}: {command.strip()!r} is neither run by this file "
                        "nor by CI (a missing file or extra?)"
                    )
    assert seen >= 10


def test_links_between_pages_resolve():
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" not in target:
                assert (path.parent / target).exists(), f"{path.name}: broken link {target}"


def test_readme_stays_short():
    assert len((ROOT / "README.md").read_bytes()) <= 10_000
