"""Entry point of the peer drivers: ``python run.py <driver module> <subcommand> [args]``.

The driver is imported once, under its own name, so that workers find its job functions by
dotted path (``celery_peer.noop``), never in ``__main__``. See common.py for the subcommands.
"""

import sys

import common

if __name__ == "__main__":
    common.main(sys.argv[1], sys.argv[2:])
