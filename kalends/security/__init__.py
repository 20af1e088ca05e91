"""Password hashing and reading for the admin tools and the server."""

from __future__ import annotations
