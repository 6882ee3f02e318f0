"""The seed document's ExampleDeepDispatcher, unmodified, three ways (SPEC §4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stoq import Stoq

SEED_ERROR = "This is an example error and is completely optional"


def _check(stoq: Stoq) -> None:
    response = stoq.scan(b"some payload")
    [result] = response.results
    assert result.deep_dispatch_meta == {
        "test_deep_dispatcher": {
            "deep_key": "Useful deep metadata info",
            "msg": "Useful content here",
        }
    }
    assert [(e.plugin_name, e.stage, e.error) for e in response.errors] == [
        ("test_deep_dispatcher", "deep_dispatch", SEED_ERROR)
    ]
    assert stoq.settings.max_dispatch_passes in (1, 3)


def test_seed_from_the_constructor() -> None:
    """Stoq(deep_dispatchers=['test_deep_dispatcher'])."""
    _check(Stoq(deep_dispatchers=["test_deep_dispatcher"]))


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("stoq.cfg", "[core]\ndeep_dispatchers = test_deep_dispatcher\nmax_dispatch_passes = 3\n"),
        (
            "stoq.toml",
            '[core]\ndeep_dispatchers = ["test_deep_dispatcher"]\nmax_dispatch_passes = 3\n',
        ),
    ],
)
def test_seed_from_a_config_file(isolated_home: Path, name: str, text: str) -> None:
    """The seed's stoq.cfg lines, and the same in stoq.toml, found in STOQ_HOME."""
    (isolated_home / name).write_text(text)
    stoq = Stoq()
    assert stoq.settings.max_dispatch_passes == 3
    _check(stoq)


def test_seed_option_from_config_reaches_config_get(tmp_path: Path) -> None:
    """The seed reads `msg` with config.get('options', 'msg', fallback=...)."""
    path = tmp_path / "stoq.toml"
    path.write_text('[plugins.test_deep_dispatcher]\nmsg = "from the file"\n')
    response = Stoq(config_file=path, deep_dispatchers=["test_deep_dispatcher"]).scan(b"x")
    assert response.results[0].deep_dispatch_meta["test_deep_dispatcher"]["msg"] == "from the file"
