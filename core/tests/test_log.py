"""configure_logging: the application's one call; tracebacks on the terminal only at debug."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = (
    "import stoq; stoq.configure_logging({level!r}); "
    "print(stoq.Stoq(always_dispatch=['raise_worker']).scan(b'x').errors[0].error)"
)


@pytest.mark.parametrize(("level", "traceback_shown"), [("INFO", False), ("DEBUG", True)])
def test_terminal_tracebacks_only_at_debug(level: str, traceback_shown: bool) -> None:
    """The failure is logged either way; its traceback reaches the terminal only at DEBUG."""
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(level=level)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "RuntimeError: raise_worker always fails second line"
    assert "plugin 'raise_worker' failed at stage scan" in result.stderr
    assert ("Traceback" in result.stderr) is traceback_shown


def _run(code: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )


def test_logging_is_imported_only_for_a_record_someone_sees() -> None:
    """Below the configured level, and with no set-up at all, a record is dropped without
    importing ``logging``; the first record kept imports it, with stoq's handlers in place."""
    code = (
        "import sys\n"
        "from stoq.log import configure_logging, get_logger\n"
        "get_logger('stoq.a').error('no set-up: nobody can see this')\n"
        "configure_logging('WARNING')\n"
        "get_logger('stoq.a').info('below the level')\n"
        "print('logging' in sys.modules, 'traceback' in sys.modules)\n"
        "get_logger('stoq.a').warning('kept %s', 1)\n"
        "print('logging' in sys.modules)\n"
    )
    result = _run(code)
    assert result.stdout.split() == ["False", "False", "True"]
    [line] = result.stderr.splitlines()
    assert line.endswith(" WARNING stoq.a: kept 1")


def test_a_record_names_the_line_that_logged_it() -> None:
    """The stand-in's own frames are skipped: ``funcName`` and ``lineno`` are the caller's."""
    code = (
        "import logging\n"
        "from stoq.log import get_logger\n"
        "records = []\n"
        "handler = logging.Handler(); handler.emit = records.append\n"
        "logging.getLogger('stoq').addHandler(handler)\n"
        "def caller():\n"
        "    get_logger('stoq.b').warning('one')\n"
        "    try:\n"
        "        1 / 0\n"
        "    except ZeroDivisionError:\n"
        "        get_logger('stoq.b').exception('two')\n"
        "caller()\n"
        "print([(r.funcName, r.lineno, r.levelname, bool(r.exc_info)) for r in records])\n"
    )
    result = _run(code)
    assert result.stdout.strip() == (
        "[('caller', 7, 'WARNING', False), ('caller', 11, 'ERROR', True)]"
    )


def test_a_plugin_logging_through_logging_itself_meets_the_configured_handlers(
    tmp_path,
) -> None:
    """A plugin module that imports ``logging`` and logs to a ``stoq.*`` logger directly (as
    many v2 plugins do) gets stoq's handlers from its ``start`` on, set up at its load."""
    (tmp_path / "chatty.stoq").write_text("[Core]\nName = chatty\nModule = chatty\n")
    (tmp_path / "chatty.py").write_text(
        "import logging\n"
        "from stoq.data_classes import WorkerResponse\n"
        "from stoq.plugins import WorkerPlugin\n\n\n"
        "class Chatty(WorkerPlugin):\n"
        "    def start(self):\n"
        "        logging.getLogger('stoq.chatty').info('started')\n\n"
        "    def scan(self, payload, request_meta):\n"
        "        return WorkerResponse({})\n"
    )
    code = (
        "import stoq\n"
        "stoq.configure_logging('INFO')\n"
        f"s = stoq.Stoq(plugin_dir_list=[{str(tmp_path)!r}], always_dispatch=['chatty'])\n"
        "print(s.scan(b'x').errors)\n"
    )
    result = _run(code)
    assert result.stdout.strip() == "[]"
    assert [line.split(" ", 2)[2] for line in result.stderr.splitlines()] == [
        "INFO stoq.chatty: started"
    ]
