"""SPEC §5.5: run mode on several consumer processes, and a consumer that dies."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from pathlib import Path
from typing import Any, List, Tuple

from stoq import consumers
from stoq.plugins import ConnectorPlugin


def _saved(path: Path) -> List[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


class _Kept(ConnectorPlugin):
    """A connector built in the parent process: consumers send it their responses."""

    saved: List[str] = []

    def save(self, response: Any) -> None:
        self.saved.append(str(response))


def _run_kept(build: Any, mode: str) -> Tuple[Any, List[dict]]:
    """Three items on two consumers through ``hostile_worker`` in ``mode``, saved by ``_Kept``
    in the parent: the run, and the responses its connector got."""
    _Kept.saved = []
    stoq = build(
        providers=["multi_role"],
        connectors=["kept"],
        always_dispatch=["hostile_worker"],
        consumers=2,
        plugin_opts={"multi_role": {"items": ["a", "bb", "ccc"]}, "hostile_worker": {"mode": mode}},
    )
    stoq.plugins.build("kept", _Kept)
    stoq.run()
    return stoq, [json.loads(text) for text in _Kept.saved]


def test_results_that_do_not_pickle_reach_the_parents_connector_as_json_writes_them(
    build,
) -> None:
    """A v2 plugin's object in its results (JSON writes its text) made each consumer die while
    sending the response back to a connector of the parent's (the CLI's printer), and every
    response was lost."""
    stoq, saved = _run_kept(build, "unpicklable")
    assert stoq.consumer_deaths == 0 and stoq.responses_with_errors == 0
    workers = [r["results"][0]["workers"][0]["hostile_worker"] for r in saved]
    assert sorted(w["size"] for w in workers) == [1, 2, 3]
    assert all(w["handle"].startswith("<unlocked _thread.lock object") for w in workers)


def test_a_response_the_parent_cannot_unpickle_is_an_error_response_there(build) -> None:
    """A plugin's value that pickles in the consumer but raises when rebuilt in the parent
    gives the parent's connector an error response per item, and run mode goes on."""
    stoq, saved = _run_kept(build, "unreadable")
    assert stoq.consumer_deaths == 0
    errors = [r["errors"] for r in saved]
    assert len(errors) == 3
    assert all(
        e
        == [
            {
                "plugin_name": None,
                "payload_id": e[0]["payload_id"],
                "stage": "scan",
                "error": "the response cannot be read in run mode's parent:"
                " ValueError: cannot be rebuilt here",
            }
        ]
        for e in errors
    )


def test_consumer_processes_scan_every_item(build, tmp_path: Path) -> None:
    """With consumers=2 every item is scanned once, by more than one process."""
    out = tmp_path / "out.jsonl"
    items = [f"item {i}" for i in range(40)]
    stoq = build(
        providers=["multi_role"],
        connectors=["file_connector"],
        always_dispatch=["crash_worker"],
        consumers=2,
        plugin_opts={"multi_role": {"items": items}, "file_connector": {"path": str(out)}},
    )
    stoq.run()
    saved = _saved(out)
    assert len(saved) == 40
    assert sorted(r["results"][0]["size"] for r in saved) == sorted(len(i) for i in items)
    pids = {r["results"][0]["workers"][0]["crash_worker"]["pid"] for r in saved}
    assert len(pids) == 2
    assert stoq.consumer_deaths == 0 and stoq.responses_with_errors == 0


def test_killed_consumer_is_replaced_and_its_request_reported(build, tmp_path: Path) -> None:
    """A consumer killed mid-request is replaced; the request is reported; the rest goes on."""
    out = tmp_path / "out.jsonl"
    items = ["before 1", "before 2", "crash now", "after 1", "after 2", "after 3"]
    stoq = build(
        providers=["multi_role"],
        connectors=["file_connector"],
        always_dispatch=["crash_worker"],
        consumers=2,
        plugin_opts={"multi_role": {"items": items}, "file_connector": {"path": str(out)}},
    )
    stoq.run()
    saved = _saved(out)
    scanned = sorted(r["results"][0]["size"] for r in saved if r["results"])
    assert scanned == sorted(len(i) for i in items if not i.startswith("crash"))
    [lost] = [r for r in saved if not r["results"]]
    [error] = lost["errors"]
    assert error["stage"] == "scan" and error["plugin_name"] == "crash_worker"
    assert "died (exit code -9) in plugin 'crash_worker' (scan) while scanning" in error["error"]
    assert "'size': 9" not in error["error"] and "size=9" in error["error"]
    assert stoq.consumer_deaths == 1
    assert stoq.responses_with_errors == 1


def test_a_consumer_that_dies_starting_a_plugin_names_it(build, tmp_path: Path) -> None:
    """A consumer killed while a plugin starts (a native crash on import or in ``start``):
    each item it held names that plugin's load; the parent, which never loaded it, goes on."""
    out = tmp_path / "out.jsonl"
    stoq = build(
        providers=["multi_role"],
        connectors=["file_connector"],
        always_dispatch=["hostile_worker"],
        consumers=2,
        plugin_opts={
            "multi_role": {"items": ["one", "two"]},
            "file_connector": {"path": str(out)},
            "hostile_worker": {"start_mode": "kill"},
        },
    )
    stoq.run()
    errors = [error for response in _saved(out) for error in response["errors"]]
    assert len(errors) == 2
    for error in errors:
        assert error["plugin_name"] == "hostile_worker"
        assert "died (exit code -9) in plugin 'hostile_worker' (load)" in error["error"]
    assert stoq.consumer_deaths == 2


def test_the_crash_site_block_gives_back_what_a_call_wrote() -> None:
    """The parent reads the plugin and method a consumer wrote, whatever the plugin's name
    holds (a space, non-ASCII), and nothing once the call has ended."""
    from stoq import crashsite

    block = crashsite.slot(multiprocessing.get_context("fork"))
    assert crashsite.last_call(block) is None
    for name in ("pe", "my plugin", "prüfer"):
        block.value = crashsite.label(name, "get_dispatches")
        assert crashsite.last_call(block) == (name, "get_dispatches")
    block.value = b""
    assert crashsite.last_call(block) is None


def _started_pids(build: Any, tmp_path: Path, program_loads: bool = False) -> List[dict]:
    """Run 12 items on two consumers; each response's workers (with start and scan pids)."""
    out = tmp_path / "out.jsonl"
    stoq = build(
        providers=["multi_role"],
        connectors=["file_connector"],
        always_dispatch=["fork_safe_worker", "start_pid_worker"],
        consumers=2,
        plugin_opts={
            "multi_role": {"items": [f"item {i}" for i in range(12)]},
            "file_connector": {"path": str(out)},
        },
    )
    if program_loads:
        stoq.load_plugin("fork_safe_worker")
    stoq.run()
    assert "start_pid_worker" not in stoq.plugins.loaded  # never started in the parent
    saved = _saved(out)
    assert len(saved) == 12 and stoq.responses_with_errors == 0
    return [r["results"][0]["workers"][0] for r in saved]


def test_forked_consumers_adopt_the_fork_safe_plugins_the_parent_started(build, tmp_path):
    """A fork_safe plugin is started once, in the parent, and both consumers scan with that
    instance; a plugin that is not fork_safe is started in each consumer."""
    workers = _started_pids(build, tmp_path)
    assert {w["fork_safe_worker"]["started_in"] for w in workers} == {os.getpid()}
    scanners = {w["fork_safe_worker"]["pid"] for w in workers}
    assert len(scanners) == 2 and os.getpid() not in scanners
    assert all(w["start_pid_worker"]["started_in"] == w["start_pid_worker"]["pid"] for w in workers)


def test_a_plugin_the_program_loaded_is_not_adopted(build, tmp_path) -> None:
    """As documented for run(): consumers build their own instances, not the program's."""
    workers = _started_pids(build, tmp_path, program_loads=True)
    for name in ("fork_safe_worker", "start_pid_worker"):
        assert all(w[name]["started_in"] == w[name]["pid"] != os.getpid() for w in workers)


def test_spawned_consumers_start_every_plugin_themselves(build, tmp_path, monkeypatch) -> None:
    """Where consumers are spawned (macOS, or threads in the parent) nothing is adopted."""
    monkeypatch.setattr(consumers, "_start_method", lambda: multiprocessing.get_context("spawn"))
    workers = _started_pids(build, tmp_path)
    for name in ("fork_safe_worker", "start_pid_worker"):
        assert all(w[name]["started_in"] == w[name]["pid"] != os.getpid() for w in workers)


def test_the_pool_waits_on_one_selector(build, monkeypatch) -> None:
    """Answers are read through one selector kept for the pool's life: no wait() per answer
    (multiprocessing's builds a selector per call, Connection.poll too) until the last one."""
    import multiprocessing.connection
    import selectors

    built: List[int] = []
    waits: List[int] = []
    real_selector, real_wait = selectors.DefaultSelector, multiprocessing.connection.wait

    def counted_selector() -> Any:
        built.append(1)
        return real_selector()

    def counted_wait(*args: Any, **kwargs: Any) -> Any:
        waits.append(1)
        return real_wait(*args, **kwargs)

    monkeypatch.setattr(selectors, "DefaultSelector", counted_selector)
    monkeypatch.setattr(multiprocessing.connection, "wait", counted_wait)
    feed = iter([(i, f"file {i}") for i in range(30)])
    pool = consumers.ConsumerPool(2, consumers.stoq_for(build()), _echo)
    answers, waits_seen = [], []
    for answer in pool.process(lambda _timeout: next(feed, consumers.DONE)):
        answers.append(answer)
        waits_seen.append(len(waits))
    assert sorted(answers) == [(i, f"file {i}", None) for i in range(30)]
    assert waits_seen[-1] == 0 and len(built) == 1


def _echo(stoq: Any, item: Any) -> Any:
    return item


def _threads(stoq: Any, item: Any) -> Any:
    import threading

    return len(item), sorted(t.name for t in threading.enumerate())


def test_consumers_read_their_items_without_a_second_thread(build) -> None:
    """Small items (paths) and large ones (run mode's payloads) alike: a consumer reads the next
    item from its pipe itself, with no receiving thread and its GIL hand-off per item (a run
    of 6,000 payloads of 16 KiB used 9 % less CPU without it)."""
    for size in (10, 4 << 20):  # 4 MiB: more than a pipe holds, so some wait for an idle one
        feed = iter([(i, b"x" * size) for i in range(12)])
        pool = consumers.ConsumerPool(2, consumers.stoq_for(build()), _threads)
        answers = sorted(pool.process(lambda _timeout, feed=feed: next(feed, consumers.DONE)))
        assert [key for key, _, _ in answers] == list(range(12))
        assert all(result == (size, ["MainThread"]) for _key, result, _ in answers)


def _slow_first(stoq: Any, item: Any, release: str) -> Any:
    """Item 0 takes until ``release`` exists (at most 20 s): a busy consumer."""
    key, _content = item
    give_up = time.monotonic() + 20
    while key == 0 and not os.path.exists(release) and time.monotonic() < give_up:
        time.sleep(0.01)
    return key


def test_an_item_too_large_to_wait_in_a_busy_consumers_pipe_goes_to_an_idle_one(
    build, tmp_path: Path
) -> None:
    """Item 0 keeps a consumer busy. Item 1 (4 MiB) would fill that consumer's pipe: the
    parent would block writing it there until item 0 ended, or (with a receiving thread) it
    would wait behind item 0. It goes to the idle consumer, and is answered first."""
    release = tmp_path / "release"
    feed = iter([(0, (0, b"x")), (1, (1, b"x" * (4 << 20)))])
    pool = consumers.ConsumerPool(2, consumers.stoq_for(build()), _slow_first, (str(release),))
    order = []
    for key, result, exit_code in pool.process(lambda _timeout: next(feed, consumers.DONE)):
        assert result == key and exit_code is None
        order.append(key)
        release.touch()  # item 1 is answered: let item 0 end
    assert order == [1, 0]


FORK_CHECK = """
import os
import threading
import time
from stoq import consumers, deadline

assert deadline.call_with_deadline(5.0, lambda: "done") == ("done", False)
assert deadline.fork_safe_threads(), "the watchdog should run now"
print(consumers._start_method().get_start_method())
release = threading.Event()
other = threading.Thread(target=release.wait)
other.start()
print(consumers._start_method().get_start_method())
release.set()
other.join()
for _ in range(200):  # the native thread ends a moment after join() returns
    if len(os.listdir("/proc/self/task")) == 2:
        break
    time.sleep(0.01)
print(consumers._start_method().get_start_method())
"""


def test_consumers_fork_beside_the_deadline_watchdog_and_spawn_beside_other_threads() -> None:
    """Run mode's parent has the watchdog from loading its providers: it must still fork (a
    spawned consumer imports and starts everything again); any other thread means spawn.
    In a fresh interpreter: the test process may have threads of its own."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", FORK_CHECK], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["fork", "spawn", "fork"]


def _die_on_crash(stoq: Any, item: Any, pid_file: str) -> Any:
    """Answers, except for "crash": writes its pid, waits a moment (so the parent reads the
    answer before and sends the next item before it notices), then kills its process."""
    if item == "crash":
        Path(pid_file).write_text(str(os.getpid()))
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGKILL)
    return item


def _dead(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_an_item_sent_to_a_consumer_that_just_died_is_not_lost(build, tmp_path: Path) -> None:
    """The consumer dies after answering one item and before the parent, unaware, sends it the
    next: the send fails on the broken pipe. The item it was scanning is reported lost, the one
    sent in vain goes to its replacement, and the pool goes on (once a BrokenPipeError ended
    ``scan -j 2`` with one response of eight)."""
    pid_file = tmp_path / "pid"
    items = iter([(0, "first"), (1, "crash"), (2, "sent to the dead"), (3, "last")])

    def feed(_timeout: float) -> Any:
        entry = next(items, consumers.DONE)
        if entry is not consumers.DONE and entry[0] == 2:
            for _ in range(1000):  # the consumer has died, and the parent does not know yet
                if pid_file.exists() and _dead(int(pid_file.read_text())):
                    break
                time.sleep(0.01)
        return entry

    pool = consumers.ConsumerPool(1, consumers.stoq_for(build()), _die_on_crash, (str(pid_file),))
    answers = sorted(pool.process(feed))
    assert answers == [
        (0, "first", None),
        (1, None, -9),
        (2, "sent to the dead", None),
        (3, "last", None),
    ]
    assert pool.deaths == 1
