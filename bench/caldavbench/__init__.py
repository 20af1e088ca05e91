"""The CalDAV benchmark behind ``bench/caldav_bench.py`` (see that script for the commands).

Modules: ``model`` (event and window model, the expected answers), ``ics`` (iCalendar
rendering), ``data`` (generator, query windows, calibration), ``servers`` (the Kalends and
Radicale processes), ``dav`` (HTTP client, request bodies, answer parsing), ``operations``
(the timed operations), ``measure`` (load and measurement sessions, statistics), ``guard``
(the correctness guard), ``report`` (targets, markdown, raw JSON) and ``cli`` (options and
the run)."""
