{%- set roles = cookiecutter.__roles.split(',') -%}
{%- set name = cookiecutter.plugin_name -%}
{%- import 'stoq.jinja' as stoq -%}
{%- set bases, responses, wrapped = stoq.bases, stoq.responses, stoq.wrapped -%}
{%- set data_classes = [] -%}
{%- set base_classes = [] -%}
{%- for role in roles %}{% set _ = base_classes.append(bases[role]) %}{% endfor -%}
{%- for role in roles if role in responses %}{% set _ = data_classes.append(responses[role]) %}{% endfor -%}
{%- if 'provider' in roles %}{% set _ = data_classes.extend(['Payload', 'PayloadMeta']) %}{% endif -%}
{%- if 'archiver' in roles %}{% set _ = data_classes.append('Payload') %}{% endif -%}
{%- if roles | select('in', ['worker', 'dispatcher', 'deep_dispatcher', 'archiver']) | list %}{% set _ = data_classes.extend(['Payload', 'RequestMeta']) %}{% endif -%}
{%- if 'connector' in roles or 'decorator' in roles %}{% set _ = data_classes.append('StoqResponse') %}{% endif -%}
{%- set stdlib = [] -%}
{%- if 'archiver' in roles %}{% set _ = stdlib.extend(['import os', 'import re', 'import tempfile', 'from pathlib import Path']) %}{% endif -%}
{%- if 'connector' in roles %}{% set _ = stdlib.append('import sys') %}{% endif -%}
{%- if 'deep_dispatcher' in roles %}{% set _ = stdlib.append('from configparser import ConfigParser') %}{% endif -%}
{%- if 'provider' in roles %}{% set _ = stdlib.extend(['from pathlib import Path', 'from queue import Queue']) %}{% endif -%}
{%- set optional = roles | select('in', ['worker', 'dispatcher', 'deep_dispatcher', 'archiver', 'decorator']) | list -%}
{%- set _ = stdlib.append('from typing import Any, ClassVar, Dict' ~ (', Optional' if optional else '')) -%}
"""The ``{{ name }}`` stoQ plugin. {{ cookiecutter.description.rstrip('.') }}.

Generated from the stoq-plugin template; replace each example method with your own analysis.
The engine already handles timeouts, exceptions, limits and JSON output.
"""

from __future__ import annotations

{% for line in stdlib | unique | sort if line.startswith('import ') %}{{ line }}
{% endfor %}{% for line in stdlib | unique | sort if line.startswith('from ') %}{{ line }}
{% endfor %}
{{ wrapped('from stoq.data_classes import ', data_classes | unique | sort | list, '', bare=True) }}
{{ wrapped('from stoq.plugins import ', base_classes | sort, '', bare=True) }}
{%- if 'archiver' in roles %}

SHA256 = re.compile(r"[0-9a-f]{64}")
{%- endif %}


{{ wrapped('class ' ~ cookiecutter.__class_name, base_classes, ':') }}
    """{{ cookiecutter.description.rstrip('.') }}."""

    #: Defaults, with their types: options from a config file ([plugins.{{ name }}]) or
    #: --plugin-opts arrive converted to these types by the core, so nothing here parses them.
{%- set options = [] -%}
{%- if 'worker' in roles %}{% set _ = options.append('"preview_bytes": 32') %}{% endif -%}
{%- if 'dispatcher' in roles %}{% set _ = options.append('"text_workers": [' ~ ('"%s"' % name if 'worker' in roles else '') ~ ']') %}{% endif -%}
{%- if 'deep_dispatcher' in roles %}{% set _ = options.append('"followup": [' ~ ('"%s"' % name if 'worker' in roles else '') ~ ']') %}{% endif -%}
{%- if 'provider' in roles %}{% set _ = options.append('"paths": []') %}{% endif -%}
{%- if 'archiver' in roles %}{% set _ = options.append('"archive_dir": ""') %}{% endif -%}
{%- if 'connector' in roles %}{% set _ = options.append('"output": ""') %}{% endif %}
    {% if options %}DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
{% for option in options %}        {{ option }},
{% endfor %}    }{% else %}DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {}{% endif %}
{%- if 'deep_dispatcher' in roles %}

    def __init__(self, config: ConfigParser, plugin_opts: Optional[Dict]) -> None:
        super().__init__(config, plugin_opts)
        self.msg = config.get("options", "msg", fallback="Useful content here")
{%- endif %}
{%- if 'archiver' in roles %}

    def start(self) -> None:
        """Create the archive folder once, when the plugin is loaded."""
        folder = self.plugin_opts["archive_dir"] or os.path.join(
            tempfile.gettempdir(), "stoq-{{ name }}-archive"
        )
        self.archive_dir = Path(folder)
        self.archive_dir.mkdir(parents=True, exist_ok=True)
{%- endif %}
{%- if 'provider' in roles %}

    def ingest(self, queue: Queue) -> None:
        """Queue each file named in ``paths`` as a payload that remembers its file name."""
        for name in self.plugin_opts["paths"]:
            path = Path(name)
            meta = PayloadMeta(extra_data={"filename": path.name})
            queue.put(Payload(path.read_bytes(), meta))
{%- endif %}
{%- if 'worker' in roles %}

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        """Describe the payload: its size, how many lines it has, and its first bytes."""
        preview = payload.content[: self.plugin_opts["preview_bytes"]]
        return WorkerResponse(
            results={
                "size": len(payload.content),
                "lines": len(payload.content.splitlines()),
                "preview": preview.decode("utf-8", "replace"),
            }
        )
{%- endif %}
{%- if 'dispatcher' in roles %}

    def get_dispatches(
        self, payload: Payload, request_meta: RequestMeta
    ) -> Optional[DispatcherResponse]:
        """Send payloads that look like text to the workers named in ``text_workers``."""
        head = payload.content[:4096]
        printable = sum(1 for byte in head if 32 <= byte < 127 or byte in (9, 10, 13))
        ratio = printable / len(head) if head else 0.0
        workers = list(self.plugin_opts["text_workers"]) if ratio >= 0.95 else []
        return DispatcherResponse(plugin_names=workers, meta={"printable_ratio": round(ratio, 3)})
{%- endif %}
{%- if 'deep_dispatcher' in roles %}

    def get_deep_dispatches(
        self, payload: Payload, request_meta: RequestMeta
    ) -> Optional[DeepDispatcherResponse]:
        """Once workers have produced results, ask for the ``followup`` workers too."""
        seen = sorted({worker for round_ in payload.worker_results for worker in round_})
        dr = DeepDispatcherResponse()
        dr.meta["msg"] = self.msg
        dr.meta["workers_seen"] = seen
        if seen:
            dr.plugin_names.extend(self.plugin_opts["followup"])
        return dr
{%- endif %}
{%- if 'archiver' in roles %}

    def archive(self, payload: Payload, request_meta: RequestMeta) -> Optional[ArchiverResponse]:
        """Store the payload under its SHA-256, which is also the task ``get`` takes back."""
        path = self.archive_dir / payload.sha256
        if not path.exists():
            path.write_bytes(payload.content)
        return ArchiverResponse({"sha256": payload.sha256, "path": str(path)})

    def get(self, task: Any) -> Optional[Payload]:
        """Fetch a stored payload; a provider queues ``{"{{ name }}": sha256}`` for this."""
        if not SHA256.fullmatch(str(task)):
            raise ValueError(f"archiver task {task!r} is not a lower-case hex SHA-256")
        return Payload((self.archive_dir / str(task)).read_bytes())
{%- endif %}
{%- if 'connector' in roles %}

    def save(self, response: StoqResponse) -> None:
        """Append the response as one JSON line to ``output`` (standard output when empty)."""
        line = str(response) + "\n"
        if not self.plugin_opts["output"]:
            sys.stdout.write(line)
            return
        with open(self.plugin_opts["output"], "a", encoding="utf-8") as handle:
            handle.write(line)
{%- endif %}
{%- if 'decorator' in roles %}

    def decorate(self, response: StoqResponse) -> Optional[DecoratorResponse]:
        """Summarise the whole request: how many payloads, bytes and errors it holds."""
        return DecoratorResponse(
            {
                "payloads": len(response.results),
                "bytes": sum(result.size for result in response.results),
                "errors": len(response.errors),
            }
        )
{%- endif %}
