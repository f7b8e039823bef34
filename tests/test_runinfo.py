"""Run identity and owner liveness: what lets a sweep tell dead runs from live ones."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.runinfo import (
    LABEL_CREATED,
    LABEL_HOST,
    LABEL_PID,
    LABEL_RUN_ID,
    RunIdentity,
    owner_alive,
    pid_alive,
    process_start_time,
)


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(["sleep", "60"])
    try:
        yield child
    finally:
        child.kill()
        child.wait()


def test_new_identity_is_owned_by_this_process() -> None:
    before = time.time()
    run = RunIdentity.new()
    assert run.pid == os.getpid()
    assert before <= run.created <= time.time()
    assert RunIdentity.new().run_id != run.run_id


def test_identity_round_trips_through_json_and_labels() -> None:
    run = RunIdentity.new()
    assert RunIdentity.from_json(run.to_json()) == run
    labels = run.labels()
    assert labels[LABEL_RUN_ID] == run.run_id
    assert labels[LABEL_PID] == str(run.pid)
    assert labels[LABEL_HOST] == run.host
    assert abs(float(labels[LABEL_CREATED]) - run.created) < 0.001


def test_start_time_of_this_process_is_in_the_past() -> None:
    started = process_start_time(os.getpid())
    assert started is not None
    assert time.time() - 24 * 3600 * 365 < started <= time.time()


def test_start_time_with_parentheses_and_spaces_in_the_command_name(tmp_path: Path) -> None:
    odd = tmp_path / "a) b (c"
    odd.symlink_to("/bin/sleep")
    before = time.time()
    child = subprocess.Popen([str(odd), "30"])
    try:
        started = process_start_time(child.pid)
    finally:
        child.kill()
        child.wait()
    assert started is not None
    assert before - 1.0 <= started <= time.time() + 1.0


@pytest.mark.parametrize("pid", [0, -1])
def test_nonsense_pids_are_not_alive(pid: int) -> None:
    assert pid_alive(pid) is False


def test_owner_dies_with_its_process(sleeper: subprocess.Popen[bytes]) -> None:
    created = time.time()
    assert owner_alive(sleeper.pid, created) is True
    sleeper.kill()
    sleeper.wait()
    assert pid_alive(sleeper.pid) is False
    assert owner_alive(sleeper.pid, created) is False
    assert process_start_time(sleeper.pid) is None


def test_recycled_pid_is_not_the_owner(sleeper: subprocess.Popen[bytes]) -> None:
    started = process_start_time(sleeper.pid)
    assert started is not None
    # A resource created an hour before this process existed belonged to an
    # earlier process that had the same pid.
    assert owner_alive(sleeper.pid, started - 3600) is False
    assert owner_alive(sleeper.pid, started + 3600) is True
    # Clock slack: the resource's timestamp may be taken a moment before the
    # owner's start time is recorded by the kernel.
    assert owner_alive(sleeper.pid, started - 1.0) is True


def test_an_unreaped_process_is_not_a_live_owner() -> None:
    """A check's process killed with its harness may linger as a zombie until init reaps it."""
    from harness.runinfo import owner_alive

    child = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # ended, not yet waited for: a zombie
        with open(f"/proc/{child.pid}/stat", encoding="ascii") as stat:
            if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.01)
    try:
        assert not owner_alive(child.pid, time.time())
    finally:
        child.wait()
