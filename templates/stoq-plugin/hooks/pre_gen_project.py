"""Refuse answers the template cannot turn into a working plugin, saying which and why."""

import keyword
import re
import sys

ROLES = ("provider", "worker", "dispatcher", "deep_dispatcher", "archiver", "connector", "decorator")

# jsonify gives a JSON string literal, which is also a valid Python string literal.
name = {{ cookiecutter.plugin_name | jsonify }}
raw_roles = {{ cookiecutter.roles | jsonify }}
description = {{ cookiecutter.description | jsonify }}

problems = []
if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name):
    problems.append(
        f"plugin_name {name!r}: use lower-case letters, digits and underscores, starting with a"
        " letter (it becomes the entry-point name and part of the import package name)"
    )
given = [r.strip().lower().replace(" ", "_").replace("-", "_") for r in raw_roles.split(",")]
unknown = [r for r in given if r not in ROLES]
if unknown or not any(given):
    problems.append(f"roles {raw_roles!r}: each must be one of {', '.join(ROLES)}")
if not description.strip() or "\n" in description:
    problems.append("description: give one non-empty line")

for problem in problems:
    print(f"stoq-plugin template: {problem}", file=sys.stderr)
sys.exit(1 if problems else 0)
