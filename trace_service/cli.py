"""``trace-service``: operate the service (migrate, serve, demo data, API keys).

Exit status: 0 success, 1 a refusal or failure (the message says why), 2 usage errors.
"""

from __future__ import annotations

import json
import os
import shlex
import sys

import click

from trace_service import create_app


def _app(ctx: click.Context):
    if ctx.obj is None:
        ctx.obj = build_app()
    return ctx.obj


def build_app():
    """The app from the settings; a setting the service refuses (a weak production secret,
    say) is a one-line error and exit status 1, not a traceback."""
    from trace_service.config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
@click.pass_context
def main(ctx):
    """Operate the trace service. Settings come from TRACE_* environment variables."""
    ctx.obj = None


@main.group()
def db():
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.pass_context
def db_upgrade(ctx, revision):
    """Apply migrations (the only way the schema is made)."""
    from trace_service import migrate

    app = _app(ctx)
    migrate.upgrade(app.config["DATABASE_URL"], revision)
    click.echo(f"database at revision {migrate.current(app.config['DATABASE_URL'])}")


@db.command("rebuild-movements")
@click.pass_context
def db_rebuild_movements(ctx):
    """Recompute the movements table from sales and parcels (after a bulk load that
    bypassed the services); the same statement migration 0007 ran."""
    from trace_service import migrate
    from trace_service.inspect.movements import rebuild_movements

    app = _app(ctx)
    if migrate.current(app.config["DATABASE_URL"]) != migrate.head():
        raise click.ClickException("the database is not at the newest schema: run "
                                   "'trace-service db upgrade' first")
    database = app.extensions["trace_db"]
    with database.write_session() as sess:
        rows = rebuild_movements(sess)
        sess.commit()
    click.echo(f"movements: {rows} rows")


@db.command("current")
@click.pass_context
def db_current(ctx):
    """Print the schema revision."""
    from trace_service import migrate

    click.echo(migrate.current(_app(ctx).config["DATABASE_URL"]) or "empty")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=lambda: max(2, os.cpu_count() or 1),
              show_default="one per CPU, at least 2", type=int)
@click.option("--threads", default=1, show_default=True, type=int,
              help="threads per worker; more than 1 runs gthread workers")
@click.option("--checkpoints/--no-checkpoints", default=True, show_default=True,
              help="also run 'trace-service checkpoint --every N' (N: "
                   "TRACE_CHECKPOINT_INTERVAL_SECONDS) beside the server")
@click.pass_context
def serve(ctx, host, port, workers, threads, checkpoints):
    """Serve with gunicorn (a production server, not Flask's debug server).

    The default, one single-threaded worker process per CPU, is the fastest measured for
    scan batches (docs/benchmarks.md): their work is Python, and threads of one process
    wait on each other's interpreter lock while holding row locks. Sync workers serve one
    request at a time, so in production put a buffering reverse proxy (nginx) in front."""
    from trace_service import migrate
    from trace_service.server import run

    app = _app(ctx)
    rev = migrate.current(app.config["DATABASE_URL"])
    if rev is None:
        raise click.ClickException("the database has no schema: run 'trace-service db upgrade'")
    click.echo(f"trace serving on http://{host}:{port} (API docs: /api/v1/docs)")
    signer = _start_checkpointer(app) if checkpoints else None
    try:
        run(app, host=host, port=port, workers=workers, threads=threads)
    finally:
        if signer is not None:
            signer.terminate()
            signer.wait(10)


def _start_checkpointer(app):
    """``trace-service checkpoint --every N`` as a child process of the server.

    A process of its own, not a thread in the workers: gunicorn forks and recycles its
    workers, so a thread in each would sign as many times over and stop with every restart,
    and a worker busy with requests would delay it. The child dies with this process
    (PR_SET_PDEATHSIG on Linux, and terminate() on the way out)."""
    import signal
    import subprocess
    import sys

    def die_with_parent():
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
        except OSError:
            pass

    every = str(app.config["LOG_CHECKPOINT_INTERVAL_SECONDS"])
    return subprocess.Popen([sys.executable, "-m", "trace_service.cli", "checkpoint",
                             "--every", every], preexec_fn=die_with_parent)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON.")
@click.option("--env", "as_env", is_flag=True,
              help="Print shell exports (TRACE_ADMIN_KEY=... and ids) for eval.")
@click.pass_context
def demo(ctx, as_json, as_env):
    """Seed a realistic scenario through the whole chain and print the demo keys."""
    from trace_service.demo import seed

    app = _app(ctx)
    with app.app_context():
        result = seed(app)
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    if as_env:
        suffixes = {"keys": "KEY", "parties": "PARTY", "points": "POINT",
                    "listings": "LISTING", "products": "GTIN", "orders": "ORDER"}
        for group, suffix in suffixes.items():
            for name, value in result[group].items():
                var = f"TRACE_{name}_{suffix}".upper().replace("-", "_")
                click.echo(f"export {var}={shlex.quote(value)}")
        return
    click.echo("Demo API keys (send as 'Authorization: Bearer <key>'):")
    for role, key in result["keys"].items():
        click.echo(f"  {role:<10} {key}")
    click.echo("Trace keys to look at (GET /api/v1/trail?key=...):")
    for label, key in result["trace_keys"].items():
        click.echo(f"  {label:<22} {key}")
    base = app.config["PUBLIC_BASE_URL"].rstrip("/")
    click.echo("Consumer pages (a phone's QR scan opens these; make the QR image with "
               "'trace-service labels qr URL -o qr.png'):")
    for label, path in result.get("consumer_pages", {}).items():
        click.echo(f"  {label:<28} {base}{path}")


@main.group()
def keys():
    """API keys."""


@keys.command("create")
@click.option("--role", required=True,
              type=click.Choice(["admin", "merchant", "carrier", "device", "inspector"]))
@click.option("--party", "party_id", default=None, help="Party id (merchant, carrier keys)")
@click.option("--device", "device_id", default=None, help="Device id (device keys)")
@click.option("--label", default="")
@click.pass_context
def keys_create(ctx, role, party_id, device_id, label):
    """Issue a key and print it once."""
    from trace_service.auth.services import create_key
    from trace_service.errors import DomainError

    app = _app(ctx)
    sess = app.extensions["trace_db"].write_session()
    try:
        _key, plaintext = create_key(sess, role=role, party_id=party_id, device_id=device_id,
                                     label=label)
        sess.commit()
    except DomainError as exc:
        sess.rollback()
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    finally:
        sess.close()
    click.echo(plaintext)


from trace_service.ledger.cli import COMMANDS as _LEDGER_COMMANDS  # noqa: E402
from trace_service.inspect.cli import access_log as _access_log  # noqa: E402

main.add_command(_access_log)

for _command in _LEDGER_COMMANDS:
    main.add_command(_command)

from trace_service.labels.cli import labels as _labels  # noqa: E402

main.add_command(_labels)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
