"""CalDAV benchmark: Kalends (default SQLite storage) against stock Radicale 3.9, side by side.

Both servers run as their own processes on ephemeral ports and are driven over HTTP by one
keep-alive httpx client with Basic auth:

- Kalends: ``python -m kalends serve --config <generated file>``, default SQLite storage in a
  temporary data directory, calendars ``/bench/bench/`` (all N events) and ``/bench/guard/`` (the
  first M events, the set shared with Radicale);
- Radicale: ``python -m radicale --config <generated file>``, multifilesystem storage, htpasswd
  (plain) auth, rights ``owner_only``, calendar ``/bench/bench/`` with the first M events.

Steps: generate the events (deterministic, seeded), load them by sequential PUTs, check that both
servers answer the same time-range queries (and that the generator's own expansion agrees),
restart each server, then time every operation on it: the first call of each operation after the
restart is reported as "cold", the others as "warm" (p50/p95, nearest rank). Kalends is also
measured on its M-event calendar, so the Radicale/Kalends ratio compares equal sizes. The markdown
report goes to stdout, progress to stderr, the raw numbers to ``bench/results/<timestamp>.json``.

Commands (from the repository root):

    # smoke run (about a minute)
    .venv/bin/python bench/caldav_bench.py --events 2000 --radicale-events 300

    # the 10,000-event profile (targets apply), stock Radicale at 1,000 events (about 4 minutes)
    .venv/bin/python bench/caldav_bench.py --events 10000 --radicale-events 1000

    # the same with stock Radicale at 3,000 events (about 7 minutes)
    .venv/bin/python bench/caldav_bench.py --events 10000 --radicale-events 3000

    # the 100,000-event profile over 20 years (same weekly density), Kalends only
    .venv/bin/python bench/caldav_bench.py --events 100000 --years 20 --skip-radicale

    # print only the generator's calibration (events per week and per month), start no server
    .venv/bin/python bench/caldav_bench.py --events 10000 --calibrate

The unified calendar: ``--unified`` also loads the N events into two sources of a second user
(every other event in each) and measures every operation on that user's unified calendar, which
shows all N, next to the plain calendar of N:

    .venv/bin/python bench/caldav_bench.py --events 10000 --skip-radicale --unified

Other options: ``--repeat`` (fast operations, default 30), ``--slow-repeat`` (free-busy, PROPFIND,
GET of the collection, initial sync; default 10), ``--accept-encoding`` (default
``gzip, deflate`` as CalDAV clients send it; ``identity`` measures without response compression),
``--seed``, ``--workdir`` (keep the servers' data there instead of in a temporary directory),
``--results-dir``, ``--kalends-source DIR`` (serve the kalends package found in DIR instead of the
installed one, e.g. a fixed commit while the working tree changes:
``git archive HEAD kalends | tar -x -C DIR``).
The exit status is 1 when a correctness check failed.
"""

from __future__ import annotations

import sys

from caldavbench.cli import main

if __name__ == "__main__":
    sys.exit(main(doc=__doc__))
