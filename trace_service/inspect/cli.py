"""``trace-service access-log``: read the inspectors' access log from the server."""

from __future__ import annotations

import json

import click


@click.command("access-log")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@click.option("--key", "key_id", default=None, help="Only this API key id (key_...)")
@click.pass_context
def access_log(ctx, limit, key_id):
    """Print the newest access-log rows as JSON lines (who read what, and when)."""
    from trace_service.inspect.access import entries
    from trace_service.ledger.cli import _app  # disposes the engine when the command ends

    app = _app(ctx)
    with app.extensions["trace_db"].read_session() as db:
        rows, _next = entries(db, key_id=key_id, since=None, until=None, limit=limit,
                              before=None)
        for row in rows:
            click.echo(json.dumps({
                "id": row.id, "at": row.at.isoformat(), "key_id": row.key_id, "role": row.role,
                "channel": row.channel, "method": row.method, "path": row.path,
                "query": row.query, "status": row.status, "subject": row.subject,
                "remote_addr": row.remote_addr}, ensure_ascii=False))
