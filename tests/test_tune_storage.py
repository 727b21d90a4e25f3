"""cnnexp-tune's storages at their edges: a worker SIGKILLed in mid-trial (its trial failed and run again once,
the study still reaching its trials), two commands sharing a study in a real PostgreSQL server (pgserver),
optuna-dashboard reading it, and a journal, which has no heartbeat, recovering through the command."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import optuna
import pytest
from optuna.storages import RetryHeartbeatStaleTrialCallback as Retry
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from cnnexp.tune.recovery import COMMAND, fail_dead, lost, owed
from tests.conftest import free_port
from tests.test_tune import TINY

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")  # Retry's staticmethods
GRACE = 5  # seconds without a heartbeat before a trial counts as dead; the workers record one every second
FAST = (*TINY, "tune.heartbeat.interval=1", f"tune.heartbeat.grace_period={GRACE}", "tune/pruner=none")


@pytest.fixture
def postgres(tmp_path):
    """A PostgreSQL server of its own (pgserver's binaries; as root, pgserver runs it as its own system user),
    stopped after the test: (its URL with psycopg2 named, seconds it took to start)."""
    import pgserver

    start = time.monotonic()
    server = pgserver.get_server(tmp_path / "pg", cleanup_mode="stop")
    started = time.monotonic() - start
    try:  # SQLAlchemy 2.1 reads postgresql:// as psycopg 3; the dev extra installs psycopg2
        yield server.get_uri().replace("postgresql://", "postgresql+psycopg2://", 1), started
    finally:
        server.cleanup()


@pytest.fixture
def launch(tmp_path, data_dir):
    """launch(name, *overrides): cnnexp-tune in the background, its output in files (a pipe nobody reads would
    stall it); what is still running at the end (a failed test's stopped workers too) is killed."""
    started = []

    def start(name: str, *args: str) -> subprocess.Popen:
        with open(tmp_path / f"{name}.out", "w") as out, open(tmp_path / f"{name}.err", "w") as err:
            started.append(subprocess.Popen([sys.executable, "-m", "cnnexp.cli.tune", f"paths.data_dir={data_dir}",
                                             *FAST, *args], cwd=tmp_path, stdout=out, stderr=err))
        return started[-1]

    yield start
    for proc in started:
        if proc.poll() is None:
            for pid in workers(proc):
                os.kill(pid, signal.SIGKILL)
            proc.kill()
            proc.wait()


def wait_for(what: str, check, proc: subprocess.Popen, timeout: float = 240):
    """check()'s first true value, polled; the test fails if `proc` ends first or the deadline passes."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert proc.poll() is None, f"cnnexp-tune ended (exit status {proc.returncode}) before {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.1)
    return value


def workers(front: subprocess.Popen) -> dict[int, str]:
    """cnnexp-tune's worker processes: pid -> command line."""
    pids = [int(p) for f in Path(f"/proc/{front.pid}/task").glob("*/children") for p in f.read_text().split()]
    lines = {pid: Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode() for pid in pids}
    return {pid: line for pid, line in lines.items() if "cnnexp.tune.worker" in line}


def trial_of(pid: int) -> int | None:
    """The trial a worker runs: the number of the run dir whose train.log it holds open (None before its first)."""
    logs = [p.resolve() for p in Path(f"/proc/{pid}/fd").iterdir() if p.resolve().name == "train.log"]
    return int(logs[0].parent.name.split("_")[0]) if logs else None


@pytest.mark.slow
def test_a_killed_worker_s_trial_is_retried_while_two_commands_share_a_postgres_study(tmp_path, postgres, launch):
    url, started = postgres
    storage = f"tune.storage='{url}'"  # quoted: the URL's ?host=... would stop Hydra's parser
    first = launch("first", "tune.n_trials=3", "tune.workers=2", storage)
    wait_for("the study", lambda: "trials so far" in (tmp_path / "first.out").read_text(), first)
    study = optuna.load_study(study_name="lenet5", storage=url)

    # Both workers training their first trial (3 on 2: worker 0 runs 2, worker 1 one), then frozen: still both.
    def both_training():
        procs = workers(first)
        return (len(procs) == 2 and [t.state for t in study.trials] == [TrialState.RUNNING] * 2
                and all(trial_of(pid) is not None for pid in procs) and procs)
    procs = wait_for("two trials training", both_training, first)
    for pid in procs:
        os.kill(pid, signal.SIGSTOP)
    assert [t.state for t in study.trials] == [TrialState.RUNNING] * 2, "a trial ended before its worker stopped"
    (victim,) = [pid for pid, line in procs.items() if "tune.n_trials=1 " in line]
    (survivor,) = set(procs) - {victim}
    dead = trial_of(victim)
    os.kill(victim, signal.SIGKILL)
    # The heartbeat's grace period is wall-clock time: past it, the dead trial is stale to the next worker that asks.
    time.sleep(GRACE + 1)
    os.kill(survivor, signal.SIGCONT)

    # The survivor ends its trial, asks for its second: the heartbeat fails the dead trial, queues it, hands it over.
    def retry():
        found = [t for t in study.trials if Retry.retried_trial_number(t) == dead and t.state != TrialState.WAITING]
        return found and found[0]
    retry_number = wait_for("the retry running", retry, first).number
    assert survivor in workers(first)  # nobody else could have taken it: the only worker alive, the second not begun
    # Shares the study from now on, its two workers started through submitit's local executor (the SLURM path).
    second = launch("second", "tune.n_trials=2", "tune.workers=2", "tune.launcher=submitit_local", storage)
    assert first.wait(timeout=300) == 0, (tmp_path / "first.err").read_text()[-3000:]
    assert second.wait(timeout=300) == 0, (tmp_path / "second.err").read_text()[-3000:]

    trials = study.trials
    states = {t.number: t.state.name for t in trials}
    assert Counter(states.values()) == {"COMPLETE": 5, "FAIL": 1} and states[dead] == "FAIL", states
    (again,) = [t for t in trials if Retry.retry_history(t)]
    assert (again.number, Retry.retry_history(again), again.state) == (retry_number, [dead], TrialState.COMPLETE)
    assert again.params == trials[dead].params
    # Each command ran its own number of trials to the end, the dead one made up for (1 more after the retry).
    by_command = Counter(t.user_attrs[COMMAND] for t in trials if t.state == TrialState.COMPLETE)
    assert sorted(by_command.values()) == [2, 3]
    assert len(list((tmp_path / "outputs" / "tune" / "lenet5").glob(".submitit/*/*_log.out"))) == 2
    note = [ln for ln in (tmp_path / "first.err").read_text().splitlines() if ln.startswith("cnnexp-tune:")]
    assert note == [f"cnnexp-tune: worker 1 ended with exit status -9: trial(s) {dead} failed with it and queued "
                    f"again once; 1 trial(s) still to run"]

    port = free_port()
    dashboard = subprocess.Popen([str(Path(sys.executable).parent / "optuna-dashboard"), url, "--host", "127.0.0.1",
                                  "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def get(route: str):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{route}", timeout=10) as response:
                    return json.loads(response.read())
            except OSError:
                return None
        (summary,) = wait_for("the dashboard", lambda: get("/api/studies"), dashboard, timeout=60)["study_summaries"]
        shown = get(f"/api/studies/{summary['study_id']}")["trials"]
    finally:
        dashboard.terminate()
        dashboard.wait(timeout=30)
    assert summary["study_name"] == "lenet5"
    assert {t["number"]: t["state"].upper() for t in shown} == states
    print(f"\nPostgreSQL server started in {started:.2f} s; trials {states}; trial {dead} (its worker SIGKILLed) "
          f"retried as trial {retry_number}; complete trials by command: {sorted(by_command.values())}")


def test_a_journal_s_dead_trial_is_failed_and_queued_again_by_its_command(tmp_path):
    # No heartbeat in a journal: cnnexp-tune fails its own trials still running once all its workers have ended.
    study = optuna.create_study(storage=optuna.storages.JournalStorage(JournalFileBackend(str(tmp_path / "j"))))
    for command in ("ours", "ours", "theirs"):
        trial = study.ask()
        trial.suggest_float("x", 0, 1)
        trial.set_user_attr(COMMAND, command)
    study.tell(0, 0.5)
    assert fail_dead(study, "ours") == [1]
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE, TrialState.FAIL, TrialState.RUNNING, TrialState.WAITING]
    assert Retry.retried_trial_number(study.trials[3]) == 1 and study.trials[3].params == study.trials[1].params
    assert lost(study, "ours") == {1} and owed(study, "ours", 3) == 2  # the dead trial does not count, its retry will
