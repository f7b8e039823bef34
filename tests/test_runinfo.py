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
    LABEL_OWNER,
    LABEL_PID,
    LABEL_RUN_ID,
    RunIdentity,
    owner_alive,
    pid_alive,
    process_identity,
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
    assert run.owner is not None and run.owner == process_identity(os.getpid())
    assert RunIdentity.from_json(run.to_json()) == run
    labels = run.labels()
    assert labels[LABEL_RUN_ID] == run.run_id
    assert labels[LABEL_PID] == str(run.pid)
    assert labels[LABEL_HOST] == run.host
    assert labels[LABEL_OWNER] == run.owner
    assert abs(float(labels[LABEL_CREATED]) - run.created) < 0.001


def test_an_identity_written_before_owners_were_recorded_still_reads() -> None:
    text = '{"created": 1.5, "host": "h", "pid": 7, "run_id": "ab12cd34"}'
    old = RunIdentity.from_json(text)
    assert (old.pid, old.owner) == (7, None)
    assert LABEL_OWNER not in old.labels()


def test_a_process_identity_is_this_boot_and_its_start(sleeper: subprocess.Popen[bytes]) -> None:
    mine, its = process_identity(os.getpid()), process_identity(sleeper.pid)
    assert mine is not None and its is not None and mine != its
    boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    assert mine.startswith(boot + ":") and its.startswith(boot + ":")
    assert int(its.rsplit(":", 1)[1]) >= int(mine.rsplit(":", 1)[1])  # it started later
    assert process_identity(sleeper.pid) == its  # stable while it lives


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


def test_the_owner_identity_holds_when_the_clock_is_set(sleeper: subprocess.Popen[bytes]) -> None:
    """A clock set an hour forward since the run began: its start time no longer fits."""
    identity = process_identity(sleeper.pid)
    started = process_start_time(sleeper.pid)
    assert identity is not None and started is not None
    recorded_an_hour_early = started - 3600  # as the resource's wall-clock stamp now reads
    assert owner_alive(sleeper.pid, recorded_an_hour_early) is False  # the start-time rule
    assert owner_alive(sleeper.pid, recorded_an_hour_early, identity) is True


def test_another_process_on_the_owners_pid_is_not_the_owner(
    sleeper: subprocess.Popen[bytes],
) -> None:
    identity = process_identity(sleeper.pid)
    assert identity is not None
    boot, ticks = identity.rsplit(":", 1)
    earlier_process = f"{boot}:{int(ticks) - 100}"  # the pid's previous holder
    another_boot = f"00000000-0000-0000-0000-000000000000:{ticks}"
    in_the_future = time.time() + 3600  # what the start-time rule would always spare
    assert owner_alive(sleeper.pid, in_the_future, earlier_process) is False
    assert owner_alive(sleeper.pid, in_the_future, another_boot) is False
    sleeper.kill()
    sleeper.wait()
    assert owner_alive(sleeper.pid, in_the_future, identity) is False


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
