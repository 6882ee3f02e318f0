"""SPEC §7: files, lookup order, precedence, plugin options, typed values, clear errors."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

from stoq import Stoq, StoqConfigError, StoqConfigParser
from stoq.config import find_config_file


def test_toml_core_keys_are_typed_and_sourced(tmp_path: Path) -> None:
    """A stoq.toml's [core] values apply, and settings say where each came from."""
    path = tmp_path / "stoq.toml"
    path.write_text(
        '[core]\nalways_dispatch = ["simple_worker"]\nmax_recursion = 4\nplugin_timeout = 2.5\n'
    )
    stoq = Stoq(config_file=path)
    assert stoq.settings.always_dispatch == ["simple_worker"]
    assert stoq.settings.max_recursion == 4 and stoq.settings.plugin_timeout == 2.5
    assert stoq.settings.sources["max_recursion"] == f"file {path}"
    assert stoq.settings.sources["max_payloads"] == "default"


def test_ini_core_keys_use_comma_lists(tmp_path: Path) -> None:
    """A v2 stoq.cfg gives comma-separated lists and numbers as text, converted."""
    path = tmp_path / "stoq.cfg"
    path.write_text(
        "[core]\nalways_dispatch = simple_worker, second_worker\nmax_dispatch_passes = 3\n"
    )
    stoq = Stoq(config_file=path)
    assert stoq.settings.always_dispatch == ["simple_worker", "second_worker"]
    assert stoq.settings.max_dispatch_passes == 3


def test_explicit_argument_beats_file_beats_default(tmp_path: Path) -> None:
    """Precedence for every key: argument → file → default (v2 let the file win)."""
    path = tmp_path / "stoq.toml"
    path.write_text("[core]\nmax_recursion = 4\nmax_payloads = 7\n")
    stoq = Stoq(config_file=path, max_recursion=2)
    assert stoq.settings.max_recursion == 2 and stoq.settings.sources["max_recursion"] == "argument"
    assert stoq.settings.max_payloads == 7
    assert stoq.settings.max_total_bytes == 1024**3


def test_lookup_order_explicit_then_home_toml_then_home_cfg(
    isolated_home: Path, tmp_path: Path
) -> None:
    """Explicit file, else $STOQ_HOME/stoq.toml, then $STOQ_HOME/stoq.cfg, else none."""
    assert find_config_file() is None
    (isolated_home / "stoq.cfg").write_text("[core]\n")
    assert find_config_file() == isolated_home / "stoq.cfg"
    (isolated_home / "stoq.toml").write_text("[core]\n")
    assert find_config_file() == isolated_home / "stoq.toml"
    explicit = tmp_path / "mine.toml"
    explicit.write_text("")
    assert find_config_file(explicit) == explicit


def test_missing_stoq_home_is_not_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """STOQ_HOME pointing nowhere means built-in defaults."""
    monkeypatch.setenv("STOQ_HOME", str(tmp_path / "does-not-exist"))
    assert Stoq().settings.max_recursion == 10


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    """An explicit config file that does not exist is named in the error."""
    with pytest.raises(StoqConfigError, match=r"nope\.toml: configuration file not found"):
        Stoq(config_file=tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[core]\nmax_recursion = 'deep'\n",
            "[core] max_recursion = 'deep': expected a whole number",
        ),
        (
            "[core]\nalways_dispatch = 3\n",
            "[core] always_dispatch = 3: expected a list of plugin names",
        ),
        ("[core]\nplugin_timeout = -1\n", "[core] plugin_timeout = -1: expected a positive number"),
        ("[core\n", "not valid TOML"),
        ("[plugins]\nhash = 1\n", "[plugins.hash] must be a table of options"),
    ],
)
def test_errors_name_file_key_and_expectation(tmp_path: Path, text: str, message: str) -> None:
    """Bad values are reported with the file, the key and what was expected."""
    path = tmp_path / "stoq.toml"
    path.write_text(text)
    with pytest.raises(StoqConfigError) as info:
        Stoq(config_file=path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_unknown_core_key_is_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An unknown [core] key is reported as a warning, not an error."""
    path = tmp_path / "stoq.toml"
    path.write_text("[core]\nmax_recursoin = 3\n")
    with caplog.at_level(logging.WARNING, logger="stoq"):
        Stoq(config_file=path)
    assert "unknown [core] key 'max_recursoin'" in caplog.text


def test_plugin_option_precedence_and_types(tmp_path: Path) -> None:
    """plugin_opts argument → file → DEFAULT_OPTIONS; typed in plugin_opts, text in config."""
    path = tmp_path / "stoq.toml"
    path.write_text('[plugins.options_worker]\nlevel = 5\npattern = "50%"\nflags = ["a", "b"]\n')
    stoq = Stoq(
        config_file=path,
        always_dispatch=["options_worker"],
        plugin_opts={"options_worker": {"level": 9, "strict": True}},
    )
    result = stoq.scan(b"x").results[0].workers[0]["options_worker"]
    assert result["plugin_opts"] == {
        "colour": "blue",
        "level": 9,
        "pattern": "50%",
        "flags": ["a", "b"],
        "strict": True,
    }
    assert result["config"] == {
        "colour": "blue",
        "level": "9",
        "pattern": "50%",
        "flags": "a,b",
        "strict": "True",
    }


def test_ini_plugin_section_and_percent_signs(tmp_path: Path) -> None:
    """[<name>] sections in stoq.cfg are plugin options; '%' is literal (no interpolation)."""
    path = tmp_path / "stoq.cfg"
    path.write_text(
        "[core]\nalways_dispatch = options_worker\n\n[options_worker]\npattern = 100%% or 100%\n"
    )
    result = Stoq(config_file=path).scan(b"x").results[0].workers[0]["options_worker"]
    assert result["plugin_opts"]["pattern"] == "100%% or 100%"


def test_stoq_config_parser_getters() -> None:
    """getlist/getset/getjson, and no interpolation."""
    parser = StoqConfigParser()
    parser.read_string('[o]\nnames = a, b,, c\njson = {"k": [1, 2]}\npct = 5%\nbad = {\n')
    assert parser.getlist("o", "names") == ["a", "b", "c"]
    assert parser.getset("o", "names") == {"a", "b", "c"}
    assert parser.getjson("o", "json") == {"k": [1, 2]}
    assert parser.get("o", "pct") == "5%"
    assert parser.getlist("o", "missing", fallback=["x"]) == ["x"]
    with pytest.raises(StoqConfigError, match=r"\[o\] bad: expected JSON"):
        parser.getjson("o", "bad")


def test_profile_sits_below_the_file_and_skips_missing_plugins(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The default profile fills keys the file leaves unset; absent plugins are skipped with a notice."""
    path = tmp_path / "stoq.toml"
    path.write_text('[core]\ndispatchers = ["simple_dispatcher"]\n')
    with caplog.at_level(logging.INFO, logger="stoq"):
        stoq = Stoq(config_file=path, profile="default")
    assert stoq.settings.dispatchers == ["simple_dispatcher"]
    assert stoq.settings.sources["always_dispatch"] == "profile default"
    installed = set(stoq.plugins.sources)
    assert set(stoq.settings.always_dispatch) <= installed
    for name in {"hash", "entropy", "mimetype"} - installed:
        assert f"plugin {name!r} from the profile is not installed" in caplog.text


def test_each_shipped_profile_is_read_from_a_json_twin_equal_to_its_toml() -> None:
    """The profiles are written in TOML; the JSON beside each is what a start reads. After
    editing a profile: python -c "import json, tomllib; print(json.dumps(tomllib.load(
    open('default.toml', 'rb')), indent=2))" > default.json"""
    import stoq.settings
    from stoq.config import read_config_file
    from stoq.settings import load_profile

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    tomls = sorted((Path(stoq.settings.__file__).parent / "profiles").glob("*.toml"))
    assert tomls
    for toml in tomls:
        expected = tomllib.loads(toml.read_text(encoding="utf-8"))
        twin = toml.with_suffix(".json")
        assert json.loads(twin.read_text(encoding="utf-8")) == expected, f"regenerate {twin}"
        read, parsed = load_profile(toml.stem), read_config_file(toml)
        assert (str(read.path), read.core, read.plugins) == (
            str(parsed.path),
            parsed.core,
            parsed.plugins,
        )
