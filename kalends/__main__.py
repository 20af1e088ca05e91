"""``python -m kalends``: the same as the ``kalends`` command."""

from __future__ import annotations

from kalends.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
