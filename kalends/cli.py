"""The ``kalends`` command: argument parsing and dispatch only."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from collections.abc import Callable, Sequence

from kalends import __version__
from kalends.config import ConfigError, Settings, config_path_from, load_settings, mask_password
from kalends.security.passwords import hash_password
from kalends.security.prompt import PasswordInputError, read_new_password

__all__ = ["main"]

PROG = "kalends"
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

Handler = Callable[[argparse.Namespace], int]


class CommandError(Exception):
    """An expected failure, reported on one line without a traceback."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    try:
        try:
            args = _parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version and usage errors
            return _exit_status(exc)
        handler: Handler = args.handler
        return handler(args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
    except (CommandError, OSError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return EXIT_USAGE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Kalends CalDAV server.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--config", metavar="PATH", help=_CONFIG_HELP)
    # Repeated on each command so that it also works after the command name; SUPPRESS keeps
    # an absent sub-command option from hiding a global one.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=_CONFIG_HELP)
    commands = parser.add_subparsers(metavar="COMMAND", required=True)
    for name, handler, help_text in _COMMANDS:
        command = commands.add_parser(name, parents=[common], help=help_text)
        command.set_defaults(handler=handler)
        if handler is _serve:
            command.add_argument("--log-level", type=str.lower, choices=LOG_LEVELS, default="info")
        add_arguments = _ARGUMENTS.get(name)
        if add_arguments is not None:
            add_arguments(command)
    return parser


def _sync_arguments(command: argparse.ArgumentParser) -> None:
    mode = command.add_mutually_exclusive_group(required=True)
    mode.add_argument("--once", action="store_true", help="run one round and print what it did")
    mode.add_argument(
        "--confirm", metavar="SOURCE", help="lift a quarantine: run one round, deletions included"
    )
    command.add_argument("--source", metavar="NAME", help="only this source (default: all)")
    command.add_argument("--dry-run", action="store_true", help="print what would be done")


def _auth_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("source", metavar="SOURCE", help="the source to sign in")
    command.add_argument(
        "--no-browser", action="store_true", help="only print the sign-in link, open no browser"
    )


def _auth(args: argparse.Namespace) -> int:
    """Sign a source in: the link is printed (and opened in a browser unless --no-browser)."""
    from kalends.sync import commands

    settings = _load(args)

    def open_url(url: str) -> None:
        print(f"Sign in on this page (waiting for the answer):\n  {url}", flush=True)
        if not args.no_browser:
            import webbrowser

            webbrowser.open(url)

    def show(message: str) -> None:
        print(message, flush=True)

    try:
        lines = commands.auth(settings, args.source, open_url, show)
    except commands.SyncCommandError as exc:
        raise CommandError(str(exc)) from None
    print("\n".join(lines))
    return 0


def _undo_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("run", metavar="RUN", help="the run id (or its first characters)")


def _print_sync_command(args: argparse.Namespace, name: str) -> int:
    """Run one of kalends.sync.commands and print its lines."""
    from kalends.sync import commands

    settings = _load(args)
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
    try:
        if name == "sync":
            lines = commands.sync(settings, args.source, args.dry_run, args.confirm)
        elif name == "status":
            lines = commands.status(settings)
        elif name == "conflicts":
            lines = commands.conflicts(settings)
        else:
            lines = commands.undo(settings, args.run)
    except commands.SyncCommandError as exc:
        raise CommandError(str(exc)) from None
    print("\n".join(lines))
    return 0


def _sync(args: argparse.Namespace) -> int:
    return _print_sync_command(args, "sync")


def _status(args: argparse.Namespace) -> int:
    return _print_sync_command(args, "status")


def _conflicts(args: argparse.Namespace) -> int:
    return _print_sync_command(args, "conflicts")


def _undo(args: argparse.Namespace) -> int:
    return _print_sync_command(args, "undo")


def _check_config(args: argparse.Namespace) -> int:
    settings = _load(args)
    from kalends.sync.accounts import account_entries, expand
    from kalends.sync.discovery import defaults

    # entries naming several calendars (the providers' modules loaded only when there are any)
    problems = expand(settings, {}, [], defaults()).problems if account_entries(settings) else ()
    if problems:
        raise CommandError(f"{settings.path}: {'; '.join(problems)}")
    counts = f"{len(settings.users)} users, {len(settings.sources)} sources"
    print(f"ok: {settings.path}: {counts}, {len(settings.views)} views")
    return 0


def _hash_password(_args: argparse.Namespace) -> int:
    if sys.stdin is None:
        raise CommandError("no standard input to read the password from")
    try:
        password = read_new_password(sys.stdin, getpass.getpass)
    except PasswordInputError as exc:
        raise CommandError(str(exc)) from None
    print(hash_password(password))
    return 0


def _serve(args: argparse.Namespace) -> int:
    level = logging.getLevelName(args.log_level.upper())
    logging.basicConfig(level=level, format=LOG_FORMAT)
    # Radicale narrates every request at INFO (the access log already records them) and Alembic
    # its plugins: their details are kept for --log-level debug.
    # httpx narrates every request URL (a feed URL may carry a token) at INFO.
    for chatty in ("radicale", "alembic", "httpx"):
        logging.getLogger(chatty).setLevel(level if level <= logging.DEBUG else logging.WARNING)
    from kalends.security.redact import RedactionFilter, install_redaction
    from kalends.security.secrets import SecretKeyError, load_secret_key

    install_redaction(RedactionFilter())
    settings = _load(args)
    try:  # the credentials key: from KALENDS_SECRET_KEY, else created 0600 on first run
        load_secret_key(settings.server.data_dir, os.environ)
    except SecretKeyError as exc:
        raise CommandError(str(exc)) from None
    from kalends.server.app import run_server

    run_server(settings)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    settings = _load(args)
    from sqlalchemy.exc import SQLAlchemyError

    from kalends.storage.engine import migrate_database

    shown = mask_password(settings.storage.url)
    try:
        migrate_database(settings.storage.url)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise CommandError(f"cannot migrate {shown}: {reason}") from None
    print(f"database is up to date: {shown}")
    return 0


def _load(args: argparse.Namespace) -> Settings:
    return load_settings(config_path_from(getattr(args, "config", None), os.environ))


def _exit_status(exc: SystemExit) -> int:
    if exc.code is None or isinstance(exc.code, int):
        return exc.code or 0
    print(exc.code, file=sys.stderr)
    return EXIT_USAGE


_CONFIG_HELP = "configuration file (default: $KALENDS_CONFIG, else ./kalends.toml)"
_COMMANDS: tuple[tuple[str, Handler, str], ...] = (
    ("check-config", _check_config, "validate the configuration file"),
    ("hash-password", _hash_password, "print the hash of a password for the configuration"),
    ("serve", _serve, "run the CalDAV server"),
    ("migrate", _migrate, "create or upgrade the database schema"),
    ("sync", _sync, "run one sync round (--once) or lift a quarantine (--confirm SOURCE)"),
    ("status", _status, "show each source's last sync, cursor age, backlog and errors"),
    ("conflicts", _conflicts, "list clashing edits and where their losing versions are kept"),
    ("undo", _undo, "revert what one sync run changed"),
    ("auth", _auth, "sign a source in to its provider (stores the grant encrypted)"),
)
_ARGUMENTS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "sync": _sync_arguments,
    "undo": _undo_arguments,
    "auth": _auth_arguments,
}
