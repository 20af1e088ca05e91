"""Who may do what: every user owns their home and the calendars in it, nobody else's.

Radicale's ``owner_only`` rights, with these changes:

- a user's home collection cannot be deleted (deleting it would delete every calendar at once);
- nor can the unified calendar (a view of the others) or a source's calendar (it mirrors a
  source of the admin file, which decides whether it exists). The path alone does not tell
  those apart, so ``deletion_refusal`` decides from the stored collection, with a reason the
  application answers with (403); plain calendars can be deleted.
"""

from __future__ import annotations

from radicale import pathutils
from radicale.rights import owner_only

_UNDELETABLE = {
    "unified": "the unified calendar is a view of your other calendars and cannot be deleted",
    "source": (
        "this calendar mirrors a source of the server configuration: "
        "remove the source there instead"
    ),
}


def deletion_refusal(kind: str) -> str | None:
    """Why a collection of ``kind`` cannot be deleted, or None when it can."""
    return _UNDELETABLE.get(kind)


class OwnerOnlyRights(owner_only.Rights):
    def authorization(self, user: str, user_groups: set[str], path: str) -> str:
        permissions: str = super().authorization(user, user_groups, path)
        sane_path = pathutils.strip_path(path)
        if permissions and sane_path and "/" not in sane_path:
            # Deny deleting it: "d", written in upper case as every permission on a collection
            # without a tag (Radicale's Access.check upper-cases the letter for those).
            return permissions + "D"
        return permissions
