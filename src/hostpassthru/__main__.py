"""``python -m hostpassthru``: the command-line interface."""

import sys

from ._cli import run

sys.exit(run())
