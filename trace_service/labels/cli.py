"""``trace-service labels``: print labels from the command line (an operator's tool: it acts
as admin on the configured database).

    trace-service labels qr URL_OR_KEY -o qr.png        a QR code (PNG, or .svg)
    trace-service labels symbol datamatrix KEY -o dm.png  any symbology for a registered key
    trace-service labels sheet --gtin G --lot L --serials SN0001-SN0040 -o sheet.pdf
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from trace_service.labels import services
from trace_service.labels.symbols import EC_LEVELS, SYMBOLOGIES, Symbol

_RANGE = re.compile(r"^(?P<prefix>.*?)(?P<start>\d+)-(?P=prefix)?(?P<end>\d+)$")


def _ctx(click_ctx):
    from trace_service.auth.permissions import Actor
    from trace_service.cli import _app
    from trace_service.context import Ctx

    app = _app(click_ctx)
    db = app.extensions["trace_db"].read_session()
    return app, Ctx(db, Actor(key_id="cli", role="admin"), app.config["DEFAULT_TZ_OFFSET"])


def _write(data: bytes, out: str) -> None:
    Path(out).write_bytes(data)
    click.echo(f"wrote {out} ({len(data)} bytes)")


def _fmt(out: str, default: str) -> str:
    suffix = Path(out).suffix.lower().lstrip(".")
    return suffix if suffix in ("png", "svg", "pdf") else default


def _fail(exc: Exception):
    code = getattr(exc, "code", None)
    message = getattr(exc, "message", None) or str(exc)
    raise click.ClickException(f"{code}: {message}" if code else message)


@click.group("labels")
def labels():
    """Labels: QR codes, GS1 DataMatrix, GS1-128, EAN-13, Code 128 and A4 sheets."""


@labels.command("qr")
@click.argument("what")
@click.option("-o", "--out", required=True, help="Output file: .png or .svg")
@click.option("--size", default=10, show_default=True, type=click.IntRange(1, 40),
              help="Pixels per module")
@click.option("--margin", default=4, show_default=True, type=click.IntRange(0, 40),
              help="Quiet zone, modules")
@click.option("--ec", default="M", show_default=True, type=click.Choice(tuple(EC_LEVELS)))
@click.option("--expiry", is_flag=True, help="Add the lot's use-by date (?17=)")
@click.pass_context
def qr(click_ctx, what, out, size, margin, ec, expiry):
    """A QR code for a URL (as is), or for a registered key's consumer page."""
    fmt = _fmt(out, "png")
    try:
        if re.match(r"^https?://", what):
            symbol = Symbol("qr", what)
        else:
            app, ctx = _ctx(click_ctx)
            with ctx.db:
                symbol = services.label(ctx, "qr", key=what, gtin=None,
                                        base_url=app.config["PUBLIC_BASE_URL"],
                                        with_expiry=expiry)
        data = services.render(symbol, fmt, size=size, margin=margin, ec=ec)
    except Exception as exc:  # noqa: BLE001 - CLI boundary: say why and exit 1
        _fail(exc)
    _write(data, out)
    click.echo(symbol.data)


@labels.command("symbol")
@click.argument("symbology", type=click.Choice(SYMBOLOGIES))
@click.argument("key")
@click.option("-o", "--out", required=True, help="Output file: .png or .svg")
@click.option("--size", default=4, show_default=True, type=click.IntRange(1, 40))
@click.option("--margin", default=None, type=click.IntRange(0, 40))
@click.option("--ec", default="M", show_default=True, type=click.Choice(tuple(EC_LEVELS)))
@click.option("--expiry", is_flag=True, help="Add the lot's use-by date (AI 17)")
@click.option("--gtin", "is_gtin", is_flag=True, help="KEY is a product GTIN (for ean13)")
@click.pass_context
def symbol_command(click_ctx, symbology, key, out, size, margin, ec, expiry, is_gtin):
    """One symbol for a registered unit, lot or parcel (or a product with --gtin)."""
    fmt = _fmt(out, "png")
    try:
        app, ctx = _ctx(click_ctx)
        with ctx.db:
            symbol = services.label(ctx, symbology, key=None if is_gtin else key,
                                    gtin=key if is_gtin else None,
                                    base_url=app.config["PUBLIC_BASE_URL"],
                                    with_expiry=expiry)
        data = services.render(symbol, fmt, size=size, margin=margin, ec=ec)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    _write(data, out)
    click.echo(symbol.data)


@labels.command("sheet")
@click.option("--gtin", required=True)
@click.option("--lot", default=None)
@click.option("--serials", default=None, help="A range such as SN0001-SN0040")
@click.option("--copies", default=None, type=click.IntRange(1, 1000),
              help="Copies of the lot's label")
@click.option("--symbology", default="qr", show_default=True, type=click.Choice(SYMBOLOGIES))
@click.option("--columns", default=None, type=click.IntRange(1, 10))
@click.option("--rows", default=None, type=click.IntRange(1, 20))
@click.option("--expiry", is_flag=True)
@click.option("-o", "--out", required=True, help="Output file: .pdf or .png (first page)")
@click.pass_context
def sheet(click_ctx, gtin, lot, serials, copies, symbology, columns, rows, expiry, out):
    """An A4 sheet of labels for a serial range of a lot, or copies of a lot's label."""
    fmt = _fmt(out, "pdf")
    serial_spec = None
    if serials:
        m = _RANGE.match(serials)
        if not m:
            raise click.BadParameter("write a range such as SN0001-SN0040", param_hint="--serials")
        serial_spec = {"prefix": m["prefix"], "start": int(m["start"]), "end": int(m["end"]),
                       "width": len(m["start"])}
    try:
        app, ctx = _ctx(click_ctx)
        with ctx.db:
            symbols_ = services.sheet_labels(
                ctx, symbology=symbology, gtin=gtin, lot=lot, serials=serial_spec,
                copies=copies if serials is None else None,
                base_url=app.config["PUBLIC_BASE_URL"], with_expiry=expiry)
        data = services.sheet(symbols_, fmt, columns=columns, rows=rows, ec="M")
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    _write(data, out)
    click.echo(f"{len(symbols_)} labels")

