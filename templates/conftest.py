"""pytest in templates/: the template folder holds Jinja, not tests; tools/ is importable."""

import sys
from pathlib import Path

collect_ignore_glob = ["stoq-plugin/*"]
sys.path.insert(0, str(Path(__file__).parent / "tools"))
