"""``python -m stoq``: the same as the ``stoq`` command."""

import sys

from stoq.cli import main

if __name__ == "__main__":
    sys.exit(main())
