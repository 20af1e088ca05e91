"""Who may do what: every user owns their home and the calendars in it, nobody else's.

Radicale's ``owner_only`` rights, with one change: a user's home collection cannot be deleted
(deleting it would delete every calendar at once); calendars themselves can be.
"""

from __future__ import annotations

from radicale import pathutils
from radicale.rights import owner_only


class OwnerOnlyRights(owner_only.Rights):
    def authorization(self, user: str, user_groups: set[str], path: str) -> str:
        permissions: str = super().authorization(user, user_groups, path)
        sane_path = pathutils.strip_path(path)
        if permissions and sane_path and "/" not in sane_path:
            # Deny deleting it: "d", written in upper case as every permission on a collection
            # without a tag (Radicale's Access.check upper-cases the letter for those).
            return permissions + "D"
        return permissions
