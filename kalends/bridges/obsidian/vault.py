"""The vault on disk: note paths that stay inside it, safe file names, atomic writes.

Symbolic links are never followed: a vault is often synced (Obsidian Sync, iCloud, git) and a
link could make Kalends read or write files elsewhere on the machine.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import stat
import unicodedata
from pathlib import Path, PurePosixPath

from kalends.bridges.base import NotFound, Transient, Unsupported

__all__ = [
    "TEMP_PREFIX",
    "Vault",
    "check_folder_option",
    "file_version",
    "safe_stem",
]

TEMP_PREFIX = ".kalends-"  # our temporary files; hidden, so Obsidian and the listing skip them
NOTE_SUFFIX = ".md"
TRASH = ".trash"  # Obsidian's own trash folder inside the vault
_FORBIDDEN = re.compile(r'[/\\:*?"<>|#^\[\]]')  # not allowed by Windows, macOS or Obsidian links
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{kind}{n}" for kind in ("COM", "LPT") for n in range(1, 10)]
)
_MAX_STEM_BYTES = 150  # file systems allow 255 bytes; leave room for " (99).md" and sync tools
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def file_version(data: bytes) -> str:
    """The version of a note: a hash of its bytes, so touching a file changes nothing."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _cap(text: str, limit: int) -> str:
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def safe_stem(text: str) -> str:
    """A file name (without extension) that every OS and Obsidian accepts, from any title."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if unicodedata.category(char) == "Cc" else char for char in text)
    text = " ".join(_FORBIDDEN.sub(" ", text).split())
    text = _cap(text.strip(". "), _MAX_STEM_BYTES).rstrip(". ")
    if not text:
        return "Untitled"
    if text.split(".")[0].strip().upper() in _RESERVED:
        return "_" + text
    return text


def check_folder_option(folder: str) -> str:
    """The events folder as a clean relative POSIX path ("" for the vault's root).

    ValueError when it would leave the vault (absolute, ``..``, a drive or backslashes).
    """
    if "\\" in folder or "\x00" in folder or re.match(r"^[A-Za-z]:", folder):
        raise ValueError("use a relative path with / inside the vault")
    path = PurePosixPath(folder)
    if path.is_absolute() or ".." in path.parts:
        raise ValueError("the folder must be inside the vault (relative, without ..)")
    return "" if str(path) == "." else str(path)


class Vault:
    """The events folder of one vault; remote ids are vault-relative POSIX paths."""

    def __init__(self, root: Path, folder: str) -> None:
        self.root = root.resolve()
        self.folder = check_folder_option(folder)
        self.folder_path = self.root.joinpath(*PurePosixPath(self.folder).parts)

    def remote_id(self, name: str) -> str:
        return f"{self.folder}/{name}" if self.folder else name

    def _check_no_links(self, path: Path) -> None:
        """Refuse a path when it, or a folder between the vault and it, is a symbolic link."""
        current = self.root
        for part in path.relative_to(self.root).parts:
            current = current / part
            if current.is_symlink():
                where = current.relative_to(self.root).as_posix()
                raise Unsupported(f"{where} is a symbolic link; Kalends does not follow links")

    def note_path(self, remote_id: str) -> Path:
        """The file of ``remote_id``; Unsupported for paths leaving the vault, NotFound for
        ids that are not a note of the events folder."""
        if "\\" in remote_id or "\x00" in remote_id:
            raise Unsupported(f"{remote_id!r} is not a note path inside the vault")
        relative = PurePosixPath(remote_id)
        if relative.is_absolute() or ".." in relative.parts:
            raise Unsupported(f"{remote_id!r} is not a note path inside the vault")
        parent = "" if str(relative.parent) == "." else str(relative.parent)
        name = relative.name
        if parent != self.folder or not name.endswith(NOTE_SUFFIX) or name.startswith("."):
            raise NotFound(remote_id)
        self._check_no_links(self.folder_path)  # the note itself: read with O_NOFOLLOW
        return self.folder_path / name

    def listed_path(self, remote_id: str) -> str:
        """The file of an id ``note_names`` just gave (its folder is checked already).

        A plain string: listing ten thousand notes builds this path each time, and ``Path``
        objects cost more than the ``stat`` that follows.
        """
        return os.path.join(self.folder_path, remote_id.rpartition("/")[2])

    def events_folder(self, *, create: bool = False) -> Path | None:
        """The events folder (None when absent), refusing links; created on demand.

        Transient when the vault itself is gone (an unmounted drive, a sync folder being
        replaced): an empty listing then would read as "every event was deleted".
        """
        if not self.root.is_dir():
            raise Transient(f"the vault {self.root} is not there (not mounted?)")
        self._check_no_links(self.folder_path)
        if create:
            self.folder_path.mkdir(parents=True, exist_ok=True)
            self._check_no_links(self.folder_path)
        return self.folder_path if self.folder_path.is_dir() else None

    def note_names(self) -> list[str]:
        """File names of the folder's ``*.md`` direct children (links included, not hidden)."""
        return sorted(self.note_name_set())

    def note_name_set(self) -> set[str]:
        """``note_names`` unsorted: reading the folder costs no ``stat`` per note (the entry's
        type comes with it on most file systems), about a tenth of statting every note."""
        folder = self.events_folder()
        if folder is None:
            return set()
        with os.scandir(folder) as entries:
            return {
                entry.name
                for entry in entries
                if entry.name.endswith(NOTE_SUFFIX)
                and not entry.name.startswith(".")
                and (entry.is_symlink() or entry.is_file(follow_symlinks=False))
            }

    def is_note(self, name: str) -> bool:
        """Whether ``name`` is a note ``note_names`` would list now (case as given: on a
        case-insensitive file system the name on disk may differ; compare with a listing)."""
        if not name.endswith(NOTE_SUFFIX) or name.startswith(".") or "/" in name:
            return False
        try:
            mode = os.stat(os.path.join(self.folder_path, name), follow_symlinks=False).st_mode
        except OSError:
            return False
        return stat.S_ISREG(mode) or stat.S_ISLNK(mode)

    def read(self, path: Path) -> tuple[bytes, os.stat_result]:
        """The bytes and stat of a note; FileNotFoundError when gone, Unsupported for links."""
        try:
            descriptor = os.open(path, os.O_RDONLY | _NOFOLLOW)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise Unsupported(f"{path.name} is a symbolic link; not followed") from None
            raise
        with os.fdopen(descriptor, "rb") as handle:
            status = os.fstat(handle.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise Unsupported(f"{path.name} is not a regular file")
            return handle.read(), status

    def unique_path(self, stem: str) -> Path:
        """``stem.md`` in the events folder, or ``stem (2).md``... when taken."""
        folder = self.folder_path
        candidate = folder / f"{stem}{NOTE_SUFFIX}"
        number = 2
        while os.path.lexists(candidate):
            candidate = folder / f"{stem} ({number}){NOTE_SUFFIX}"
            number += 1
        return candidate

    def write(self, path: Path, data: bytes, *, mode: int | None = None) -> None:
        """Write atomically: a temporary file in the same folder, fsync, then rename.

        ``mode`` None creates a new file and raises FileExistsError rather than overwrite one.
        """
        temp = path.parent / f"{TEMP_PREFIX}{secrets.token_hex(8)}.tmp"
        descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o666)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if mode is not None:
                os.chmod(temp, stat.S_IMODE(mode))
                os.replace(temp, path)
            else:
                _link_new(temp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        _sync_directory(path.parent)

    def trash(self, path: Path) -> None:
        """Move a note to the vault's ``.trash`` folder, where Obsidian lets a user restore it."""
        trash = self.root / TRASH
        if trash.is_symlink():
            raise Unsupported(f"{TRASH} is a symbolic link; Kalends does not follow links")
        trash.mkdir(exist_ok=True)
        stem = path.name[: -len(NOTE_SUFFIX)]
        target, number = trash / path.name, 2
        while os.path.lexists(target):
            target, number = trash / f"{stem} ({number}){NOTE_SUFFIX}", number + 1
        try:
            os.rename(path, target)
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            os.unlink(path)  # .trash on another file system: a plain delete
        _sync_directory(path.parent)


def _link_new(temp: Path, path: Path) -> None:
    """Give ``temp`` the name ``path`` unless that name exists (no overwrite, even racing)."""
    try:
        os.link(temp, path)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, "exists", str(path)) from None
        os.replace(temp, path)


def _sync_directory(folder: Path) -> None:
    """Make a rename durable; not every platform can open a directory."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
