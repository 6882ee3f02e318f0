"""What the template tools share: paths, rendering from the source template, small helpers."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict, List, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "templates" / "stoq-plugin"
CORE = ROOT / "core"
CONTRIB = ROOT / "plugins-contrib"
#: The keys a ``.cookiecutter.json`` records (the template's questions).
ANSWER_KEYS = ("plugin_name", "roles", "description", "author", "email", "license")

__all__ = [
    "ANSWER_KEYS",
    "CONTRIB",
    "CORE",
    "ROOT",
    "TEMPLATE",
    "load_toml",
    "read_answers",
    "render_source",
    "tree",
]


def render_source(answers: Mapping[str, str], output_dir: Path) -> Path:
    """Render the repository's template (not an installed copy) with ``answers``."""
    from stoq.cli.new_plugin import render

    return render(answers, output_dir, TEMPLATE)


def read_answers(project: Path) -> Dict[str, str]:
    """A package's ``.cookiecutter.json``; raises ValueError naming what is wrong with it."""
    path = project / ".cookiecutter.json"
    if not path.is_file():
        raise ValueError(
            ".cookiecutter.json is missing: every contrib plugin records its template answers"
        )
    try:
        answers = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f".cookiecutter.json: not valid JSON ({exc})") from None
    if not isinstance(answers, dict):
        raise ValueError(".cookiecutter.json: expected a JSON object of answers")
    missing = [k for k in ANSWER_KEYS if not isinstance(answers.get(k), str)]
    extra = sorted(set(answers) - set(ANSWER_KEYS))
    if missing or extra:
        raise ValueError(
            f".cookiecutter.json: expected exactly the string answers {', '.join(ANSWER_KEYS)}"
            f" (missing {missing or 'none'}, unexpected {extra or 'none'})"
        )
    return {k: answers[k] for k in ANSWER_KEYS}


def load_toml(path: Path) -> Dict[str, object]:
    with path.open("rb") as handle:
        data: Dict[str, object] = tomllib.load(handle)
        return data


def tree(root: Path) -> Dict[str, bytes]:
    """Every file under ``root`` by relative path (POSIX separators), with its bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def lines(text: str) -> List[str]:
    return text.splitlines(keepends=True)
