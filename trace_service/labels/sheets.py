"""Printable A4 label sheets: a grid of symbols with their human-readable lines.

Pages are drawn at 300 dpi in black and white (mode ``1``) and saved as PDF (lossless
CCITT G4 inside, one page per sheet, A4 at 300 dpi) or as PNG. Each symbol is drawn at
the largest whole number of dots per module that fits its cell, so nothing is resampled.
Captions use ASCII only (the GS1 human-readable interpretation), so no font with Chinese
glyphs is needed on the server.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

from trace_service.labels import symbols
from trace_service.labels.symbols import Symbol, SymbolError

DPI = 300
A4_PX = (2480, 3508)  # 210 x 297 mm at 300 dpi
PAGE_MARGIN = 118  # 10 mm
GAP = 24  # 2 mm between cells
CAPTION_PX = 30
MAX_LABELS = 1000  # labels in one sheet request (its serial range or copies)
MAX_DRAWN = 200  # labels drawn by one API request: the densest page (10 x 20), ~2 s
DEFAULT_GRID = {"qr": (4, 6), "datamatrix": (5, 8), "gs1-128": (2, 8), "ean13": (3, 8),
                "code128": (2, 10)}


def grid_for(symbology: str, columns: int | None, rows: int | None) -> tuple[int, int]:
    default_columns, default_rows = DEFAULT_GRID[symbology]
    return columns or default_columns, rows or default_rows


def pages(labels: list[Symbol], columns: int, rows: int, ec: str = "M") -> list[Image.Image]:
    """Draw ``labels`` onto as many A4 pages as needed, left to right, top to bottom."""
    if not labels:
        raise SymbolError("no labels to print")
    if len(labels) > MAX_LABELS:
        raise SymbolError(f"at most {MAX_LABELS} labels per sheet request")
    width, height = A4_PX
    cell_w = (width - 2 * PAGE_MARGIN - (columns - 1) * GAP) // columns
    cell_h = (height - 2 * PAGE_MARGIN - (rows - 1) * GAP) // rows
    font = ImageFont.load_default(size=CAPTION_PX)
    per_page = columns * rows
    out = []
    for first in range(0, len(labels), per_page):
        page = Image.new("1", A4_PX, 1)
        draw = ImageDraw.Draw(page)
        for i, label in enumerate(labels[first:first + per_page]):
            col, row = i % columns, i // columns
            x0 = PAGE_MARGIN + col * (cell_w + GAP)
            y0 = PAGE_MARGIN + row * (cell_h + GAP)
            _draw_label(page, draw, font, label, (x0, y0, cell_w, cell_h), ec)
        out.append(page)
    return out


def _draw_label(page, draw, font, label: Symbol, cell, ec: str) -> None:
    x0, y0, cell_w, cell_h = cell
    caption_h = len(label.caption) * (CAPTION_PX + 6)
    room_w, room_h = cell_w, cell_h - caption_h - 8
    unit = symbols.image(label, size=1, ec=ec)  # one dot per module: the symbol's size
    scale = max(1, min(room_w // unit.width, room_h // unit.height))
    if label.symbology in ("gs1-128", "ean13", "code128"):
        scale = max(1, room_w // unit.width)
        img = symbols.image(label, size=scale)
        bar_h = min(img.height, room_h)
        img = img.crop((0, 0, img.width, bar_h)) if img.height > room_h else img
    else:
        img = symbols.image(label, size=scale, ec=ec)
    if img.width > room_w or img.height > room_h:
        raise SymbolError(f"a {label.symbology} symbol does not fit a cell of "
                          f"{room_w}x{room_h} dots: use fewer columns or rows")
    page.paste(img, (x0 + (cell_w - img.width) // 2, y0))
    y = y0 + img.height + 4
    for line in label.caption:
        text_w = draw.textlength(line, font=font)
        draw.text((x0 + (cell_w - text_w) / 2, y), line, font=font, fill=0)
        y += CAPTION_PX + 6


def pdf(images: list[Image.Image]) -> bytes:
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=DPI, save_all=True, append_images=images[1:],
                   title="trace labels")
    return out.getvalue()


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True, dpi=(DPI, DPI))
    return out.getvalue()
