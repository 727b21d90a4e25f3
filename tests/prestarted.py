"""`python -m module ...` or `python script.py ...` as a process of its own, forked from one that has already imported
torch, Lightning and cnnexp (multiprocessing's forkserver, with those modules preloaded).

For tests of what a command's process does once started (signals, exit status, resume, a file-size limit, the
figures a benchmark prints): each such process would otherwise pay about 8 CPU-s of imports first. What start-up
itself does is tested on fresh interpreters (test_startup_imports, test_package, test_console), and commands that
start processes of their own (DDP, the tune and claims workers, the sweep launchers) run as real ones.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import resource
import runpy
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path

# What the commands import before their first step, once, in the forkserver; not the commands' own modules, which
# run as __main__ (runpy warns when one is imported already).
PRELOAD = ["cnnexp.cli.common", "cnnexp.training.run", "cnnexp.tune.launch", "tests.prestarted"]
_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)


def _child(target: str, args: list[str], cwd: str, env: dict[str, str], out: str, err: str,
           file_size_limit: int | None) -> None:
    """In the forked process: what the interpreter does for `python -m target args` (or `python target args`), from
    `cwd` with `env`, stdout and stderr into the files `out` and `err`; then exit as the interpreter would."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for fd, path in ((1, out), (2, err)):
        with open(path, "wb") as f:
            os.dup2(f.fileno(), fd)
    # A shell's foreground job: SIGINT raises KeyboardInterrupt (the forkserver itself ignores it).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if file_size_limit is not None:  # a full disk: writing past the limit fails with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))
    script = target.endswith(".py")
    sys.argv = [target, *args]
    sys.path[0] = str(Path(target).resolve().parent) if script else cwd
    try:
        if script:
            runpy.run_path(target, run_name="__main__")
        else:
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else int(e.code is not None)
        if not isinstance(e.code, int | None):
            print(e.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - as the interpreter: the traceback on stderr, status 1
        traceback.print_exc()
        code = 1
    threading._shutdown()  # the interpreter's own exit: non-daemon threads joined, then atexit
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class Started:
    """A Popen-like handle (pid, poll, wait, communicate, returncode) on a prestarted command."""

    def __init__(self, target: str, args: Sequence[str], cwd: Path, file_size_limit: int | None = None):
        self.args = [sys.executable, *(["-m"] if not target.endswith(".py") else []), target, *args]
        self._dir = tempfile.TemporaryDirectory(prefix="prestarted-")
        self._out, self._err = (os.path.join(self._dir.name, n) for n in ("stdout", "stderr"))
        self._process = _context.Process(target=_child, args=(target, list(args), str(cwd), dict(os.environ),
                                                              self._out, self._err, file_size_limit))
        self._process.start()
        self.pid = self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout)
        return self._process.exitcode

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        self.wait(timeout)
        out, err = (Path(p).read_text(errors="replace") for p in (self._out, self._err))
        self._dir.cleanup()
        return out, err

    def kill(self) -> None:
        self._process.kill()


def run(target: str, args: Sequence[str], cwd: Path, timeout: float = 600,
        file_size_limit: int | None = None) -> subprocess.CompletedProcess:
    """subprocess.run(..., capture_output=True, text=True) for a prestarted command."""
    proc = Started(target, args, cwd, file_size_limit)
    try:
        out, err = proc.communicate(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
