"""The ``jinja`` stoQ plugin: responses rendered through a user's Jinja2 template.

Teams want a stoQ result as a ticket comment, a mail, a syslog line or a Markdown report, not
as JSON. As a **decorator** the rendered text joins the response (``decorators.jinja``); as a
**connector** it is appended to a file, or written to standard output, where under the
``stoq`` command it replaces the JSON (the connector declares ``writes_stdout``). The template sees the
response as plain JSON data (``response``), exactly what ``stoq scan`` prints, and runs in
Jinja2's sandbox: a template may read the response but not reach Python internals.
"""

from __future__ import annotations

import json
import sys
from configparser import ConfigParser
from pathlib import Path
from typing import Any, ClassVar, Dict, Optional

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from stoq.data_classes import DecoratorResponse, StoqResponse
from stoq.plugins import ConnectorPlugin, DecoratorPlugin

__all__ = ["DEFAULT_TEMPLATE", "JinjaPlugin"]

#: Used when the ``template`` option is empty: one line per payload, then the errors.
DEFAULT_TEMPLATE = Path(__file__).resolve().parent / "templates" / "summary.txt.j2"


class JinjaPlugin(ConnectorPlugin, DecoratorPlugin):
    """Renders each response through a template: into the response, a file or stdout."""

    #: Typed defaults; a config file's [plugins.jinja] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "template": "",
        "output": "",
        "autoescape": False,
        "max_chars": 65536,
    }

    def __init__(self, config: ConfigParser, plugin_opts: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(config, plugin_opts)
        #: With no ``output`` file the rendering *is* the response stream: the ``stoq`` command
        #: then gives this connector the real standard output and prints no JSON of its own.
        self.writes_stdout = self.plugin_opts["output"] in ("", "-")

    def start(self) -> None:
        """Compile the template once; a missing file or a syntax error is a load error."""
        path = Path(self.plugin_opts["template"] or DEFAULT_TEMPLATE)
        environment = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader(str(path.parent)),
            autoescape=self.plugin_opts["autoescape"],
            keep_trailing_newline=True,
        )
        try:
            self.template = environment.get_template(path.name)
        except jinja2.TemplateSyntaxError as exc:
            raise ValueError(f"template {path}, line {exc.lineno}: {exc.message}") from exc
        except jinja2.TemplateNotFound:
            raise FileNotFoundError(f"template {path} does not exist") from None

    def render(self, response: StoqResponse) -> str:
        """The response rendered: the template sees it as the JSON that stoq prints."""
        return self.template.render(response=json.loads(str(response)))

    def save(self, response: StoqResponse) -> None:
        """Append the rendered text to ``output``, or write it to standard output."""
        text = self.render(response)
        if self.plugin_opts["output"] in ("", "-"):
            sys.stdout.write(text)
            sys.stdout.flush()
            return
        with open(self.plugin_opts["output"], "a", encoding="utf-8") as handle:
            handle.write(text)

    def decorate(self, response: StoqResponse) -> Optional[DecoratorResponse]:
        """Put the rendered text in the response, cut at ``max_chars``."""
        text = self.render(response)
        limit = self.plugin_opts["max_chars"]
        return DecoratorResponse({"rendered": text[:limit], "truncated": len(text) > limit})
