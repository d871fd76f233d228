"""The real `odcs` CLI (PyPI odcs==0.9.2), unchanged but for its clock: with `--watch` the
client sleeps 10 s between polls (odcs/client/odcs.py, `wait_for_compose`), longer than the
tests' composes take, so `time.sleep` is capped at ODCS_WATCH_SLEEP seconds (default 0.05).
The arguments are the CLI's own."""

import os
import sys
import time

_sleep = time.sleep
_cap = float(os.environ.get("ODCS_WATCH_SLEEP", "0.05"))
time.sleep = lambda seconds: _sleep(min(seconds, _cap))

from odcs.client.cli import main  # noqa: E402

sys.argv[0] = "odcs"
sys.exit(main())
