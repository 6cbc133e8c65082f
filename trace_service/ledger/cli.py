"""``trace-service`` commands of the log: verify, checkpoint, erase-person, retention,
backup, restore. Exit status 0 on success, 1 when verification fails or the operation is
refused (the message says why)."""

from __future__ import annotations

from pathlib import Path

import click

from trace_service.errors import DomainError


def _app(ctx: click.Context):
    if ctx.obj is None:
        from trace_service.cli import build_app

        ctx.obj = build_app()
        ctx.call_on_close(ctx.obj.extensions["trace_db"].dispose)
    return ctx.obj


def _key(app):
    from trace_service.ledger.settings import log_key

    return log_key(app)


def _print_report(report) -> None:
    from trace_service.ledger.services import b64

    newest = report.newest
    click.echo(f"log {report.log_id}: size {report.size}, root {b64(report.root)}")
    if newest is not None:
        click.echo(f"{len(report.checkpoints)} checkpoints verified; newest at size "
                   f"{newest.size}, signed {newest.issued_at.isoformat()}")
        if newest.size < report.size:
            click.echo(f"note: entries {newest.size}..{report.size - 1} are not covered by a "
                       "checkpoint yet ('trace-service checkpoint' signs one)")
    else:
        click.echo("no checkpoint signed yet ('trace-service checkpoint' signs one)")


def _fail_report(report) -> None:
    problems = report.sorted_problems()
    click.echo(f"FAILED: {problems[0]}", err=True)
    click.echo(f"{len(problems)} problem(s) found:", err=True)
    for problem in problems:
        click.echo(f"  - {problem}", err=True)
    for kind, count in report.suppressed.items():
        click.echo(f"  ... and {count} more of kind {kind}", err=True)


@click.command("verify")
@click.pass_context
def verify(ctx):
    """Recompute the log from the stored events; check entries, tree, head and every
    signed checkpoint. Names the first bad sequence number and event on failure."""
    from trace_service.ledger.verify import gc_paused, verify_log

    app = _app(ctx)
    with app.extensions["trace_db"].read_session() as db, gc_paused():
        report = verify_log(db, _key(app))
    if not report.ok:
        _fail_report(report)
        ctx.exit(1)
    click.echo("ok")
    _print_report(report)


@click.command("checkpoint")
@click.option("--every", "every", type=click.IntRange(min=1), default=None,
              help="Keep running: sign whenever the log grew, at most every N seconds "
                   "(serve starts this with TRACE_CHECKPOINT_INTERVAL_SECONDS).")
@click.pass_context
def checkpoint(ctx, every):
    """Sign a checkpoint of the log now (no-op when the newest already covers it) and
    print its note; with --every N, go on signing on that schedule until stopped."""
    from trace_service.ledger.services import sign_now

    app = _app(ctx)
    key = _key(app)
    if every is None:
        click.echo(sign_now(app.extensions["trace_db"], key).note(key), nl=False)
        return
    _checkpoint_loop(app, key, every)


def _checkpoint_loop(app, key, every: int) -> None:
    import logging
    import signal
    import threading

    from trace_service.ledger.services import run_checkpoints

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"signing checkpoints of {key.name} every {every} s while the log grows")
    run_checkpoints(app.extensions["trace_db"], key, every, stop,
                    log=logging.getLogger("trace_service.checkpoints"),
                    on_signed=lambda cp: click.echo(f"checkpoint {cp.size} signed"))


@click.command("erase-person")
@click.argument("person_id")
@click.option("--dry-run", is_flag=True, help="List what would be erased; change nothing.")
@click.pass_context
def erase_person(ctx, person_id, dry_run):
    """Erase the personal data of the human behind PERSON_ID: every person row the matching
    rule finds (same phone; the signer of her own parcel under her name) and her name,
    phone and address in the texts those rows wrote. The psn_ ids stay; events and proofs
    are unchanged. See docs/integrity.md, "Personal data"."""
    from trace_service.ledger.erasure import erase_subject

    app = _app(ctx)
    database = app.extensions["trace_db"]
    with database.write_session() as db:
        sqlite = database.dialect == "sqlite"
        if sqlite:
            # Freed cells and pages are overwritten with zeros, not left in the file.
            db.connection().exec_driver_sql("PRAGMA secure_delete=ON")
        try:
            result = erase_subject(db, person_id, dry_run=dry_run)
        except DomainError as exc:
            raise click.ClickException(f"{exc.code}: {exc.message}") from None
        db.commit()
    verb = "would erase" if dry_run else "erased"
    for index, row in enumerate(result.rows):
        was = ", ".join(f"{k}={v}" for k, v in row.was.items() if k != "id" and v)
        lead = "" if index == 0 else "  also "
        if row.already:
            click.echo(f"{lead}{row.person_id} was already erased")
        else:
            click.echo(f"{lead}{verb} {row.person_id}" + (f" (was {was})" if was else ""))
    for where in result.texts:
        click.echo(f"  {'would cut' if dry_run else 'cut'} name/phone/address from {where}")
    if dry_run or all(row.already for row in result.rows):
        return
    if sqlite:
        click.echo(_sqlite_erasure_note(database))
    else:
        click.echo("PostgreSQL keeps the old row versions on disk until VACUUM reuses their "
                   "space, and the WAL and backups until they age out (docs/integrity.md)")


def _sqlite_erasure_note(database) -> str:
    """Fold the -wal (which holds the pages as they were before) into the file and empty
    it: after that no copy of the erased values is left in the database's files."""
    with database.engine.connect() as conn:
        busy, _log, _done = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    if busy:
        return ("erased with secure_delete; the -wal could not be emptied now (the database "
                "is in use): its old pages go at the next checkpoint")
    return "erased with secure_delete, and the -wal was checkpointed and emptied"


@click.command("retention")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Override TRACE_PERSONAL_DATA_RETENTION_DAYS.")
@click.option("--dry-run", is_flag=True, help="List who would be erased; change nothing.")
@click.pass_context
def retention(ctx, days, dry_run):
    """Erase the personal data of persons inactive for longer than the retention period."""
    from trace_service.ledger.erasure import apply_retention

    app = _app(ctx)
    days = days or app.config["PERSONAL_DATA_RETENTION_DAYS"]
    with app.extensions["trace_db"].write_session() as db:
        ids = apply_retention(db, days, dry_run=dry_run)
        db.commit()
    verb = "would erase" if dry_run else "erased"
    click.echo(f"{verb} {len(ids)} person(s) inactive for more than {days} days")
    for person_id in ids:
        click.echo(f"  {person_id}")


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.pass_context
def backup(ctx, path):
    """Sign a checkpoint, then copy the database to PATH (SQLite online backup, or pg_dump
    -Fc); the checkpoint note goes to PATH.checkpoint."""
    from trace_service.ledger import backup as bk
    from trace_service.ledger.services import b64, sign_now

    app = _app(ctx)
    key = _key(app)
    cp = sign_now(app.extensions["trace_db"], key)
    try:
        bk.backup(app.config["DATABASE_URL"], path)
    except bk.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    note_path = bk.checkpoint_note_path(path)
    note_path.write_text(cp.note(key), encoding="utf-8")
    digest = bk.write_digest(path)
    click.echo(f"backup written to {path}: log {cp.log_id} size {cp.size}, root "
               f"{b64(cp.root_hash)}")
    click.echo(f"SHA-256 of the backup written to {digest}")
    click.echo(f"checkpoint note written to {note_path} (keep a copy apart from the backup)")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace a target database that holds data.")
@click.option("--drop-old", is_flag=True,
              help="Delete the replaced database instead of keeping it aside.")
@click.pass_context
def restore(ctx, path, force, drop_old):
    """Restore PATH into a new database or file, verify the log there (against its newest
    checkpoint, and PATH.checkpoint when present), and only then swap it in for the
    configured database. Any failure leaves the existing database unchanged."""
    import signal

    from trace_service.ledger import backup as bk
    from trace_service.ledger.services import b64

    app = _app(ctx)
    key = _key(app)
    url = app.config["DATABASE_URL"]
    app.extensions["trace_db"].dispose()
    path = Path(path)
    # SIGTERM ends the restore like Ctrl-C does: the staging copy is removed on the way out.
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    progress: dict = {}
    try:
        outcome = _restore(url, path, key, force, keep_old=not drop_old, progress=progress)
    except bk.BackupError as exc:
        _refuse(ctx, str(exc))
    except KeyboardInterrupt:
        stage = progress.get("stage")
        if stage is not None and stage.swapped:  # the signal was held back until after it
            click.echo(f"interrupted after the verified backup was swapped in: {path} is "
                       f"restored into {_where(url)}", err=True)
            ctx.exit(1)
        _refuse(ctx, "interrupted")
    finally:
        signal.signal(signal.SIGTERM, previous)
    if outcome is None:  # verification failed; the report is printed
        _refuse(ctx, "the backup failed verification")
    report, expected, aside = outcome
    newest = report.newest
    click.echo(f"verified: log {report.log_id} size {report.size}, root {b64(report.root)}; "
               f"{len(report.checkpoints)} checkpoints match, newest at size {newest.size} "
               f"signed {newest.issued_at.isoformat()}")
    if expected is not None:
        click.echo(f"and contains the checkpoint of {bk.checkpoint_note_path(path)} "
                   f"(size {expected})")
    click.echo(f"restored {path} into {_where(url)}")
    if aside is not None:
        click.echo(f"the replaced database was kept as {aside} (delete it when no longer "
                   "needed: it holds personal data)")


def _raise_interrupt(_signum, _frame):
    raise KeyboardInterrupt


def _refuse(ctx, reason: str):
    click.echo(f"restore refused: {reason}; the existing database was not changed", err=True)
    ctx.exit(1)


def _where(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.database if url.startswith("sqlite") else f"database {parsed.database}"


def _restore(url: str, path, key, force: bool, keep_old: bool, progress: dict):
    """Stage, verify, swap; returns (report, note size, where the old database went), or
    None when verification failed (the report has been printed). Raises BackupError."""
    from sqlalchemy.exc import DBAPIError

    from trace_service import migrate
    from trace_service.db import Database
    from trace_service.ledger import backup as bk
    from trace_service.ledger.notes import note_signed_by
    from trace_service.ledger.services import root_at
    from trace_service.ledger.verify import gc_paused, verify_log

    kind = bk.backup_kind(path)
    engine = bk.dialect_of(url)
    if kind != engine:
        made = "a SQLite database" if kind == "sqlite" else "a PostgreSQL (pg_dump) backup"
        raise bk.BackupError(f"{path} is {made}, but the configured database is {engine}")
    checked = bk.check_digest(path)
    note_path = bk.checkpoint_note_path(path)
    note = None
    if note_path.exists():
        note = note_path.read_text(encoding="utf-8", errors="replace")
        bk.parse_note_head(note)
        if not note_signed_by(note, key):
            raise bk.BackupError(f"{note_path} is not signed by this log's key")
    with bk.staging(url) as stage:
        progress["stage"] = stage
        stage.load(path)
        try:
            revision = bk.staged_revision(stage.url)
        except DBAPIError as exc:
            raise bk.BackupError(f"{path} is damaged: {bk._first_line(exc)}") from None
        if revision is None:
            raise bk.BackupError(f"{path} is a database but not a trace backup "
                                 "(no schema version)")
        if revision != migrate.head():
            try:
                migrate.upgrade(stage.url)  # the staging copy only
            except Exception as exc:  # noqa: BLE001 - any failure: the backup is not usable
                raise bk.BackupError(f"{path} is at schema revision {revision}, which this "
                                     f"version cannot upgrade: {bk._first_line(exc)}") from None
        click.echo(f"restored {path}{' (SHA-256 matches)' if checked else ''} into a "
                   "staging copy; verifying")
        database = Database(stage.url)
        try:
            with database.read_session() as db:
                with gc_paused():
                    report = verify_log(db, key)
                expected = None
                if report.ok and note is not None:
                    _log_id, size, root = bk.parse_note_head(note)
                    if size > report.size or root_at(db, size) != root:
                        raise bk.BackupError(
                            f"the backup does not contain the checkpoint of {note_path} "
                            f"(size {size}): it is older than, or differs from, that note")
                    expected = size
        except DBAPIError as exc:
            raise bk.BackupError(f"{path} is damaged: {bk._first_line(exc)}") from None
        except bk.BackupError:
            raise
        except Exception as exc:  # noqa: BLE001 - damage the verifier did not foresee
            raise bk.BackupError(f"{path} could not be verified ({type(exc).__name__}: "
                                 f"{bk._first_line(exc)})") from None
        finally:
            database.dispose()
        if not report.ok:
            _fail_report(report)
            return None
        if report.newest is None:
            raise bk.BackupError("the backup holds no signed checkpoint, so its log cannot "
                                 "be verified")
        # The target is first opened here, after the backup proved good: a bad backup
        # leaves every byte of it as it was.
        try:
            held = bk.rows_in(url)
        except bk.BackupError as exc:
            if not force:
                raise bk.BackupError(f"{exc}; pass --force to replace it") from None
            held = {"?": 1}
        if held and not force:
            tables = ", ".join(f"{n} ({c})" for n, c in sorted(held.items())[:5])
            raise bk.BackupError(
                f"the target database holds data ({tables}"
                f"{', ...' if len(held) > 5 else ''}); pass --force to replace it")
        aside = stage.swap(keep_old=keep_old and bool(held))
    return report, expected, aside


COMMANDS = [verify, checkpoint, erase_person, retention, backup, restore]
