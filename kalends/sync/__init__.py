"""The sync engine: a pure planner, an executor at the I/O edge, the journal and the scheduler."""
