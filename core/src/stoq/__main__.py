"""``python -m stoq``: the same as the ``stoq`` command."""

from stoq.cli import console

if __name__ == "__main__":
    console()
