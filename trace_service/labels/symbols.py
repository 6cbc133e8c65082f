"""Drawing one barcode symbol: QR (Digital Link), GS1 DataMatrix, GS1-128, EAN-13, Code 128.

Writers: ``qrcode`` for QR, ``zxing-cpp`` (``create_barcode(..., gs1=True)``) for GS1
DataMatrix, ``python-barcode`` for the linear symbols. Every symbol is drawn at a whole
number of pixels per module, so nothing is resampled and every bar keeps its width.

``size`` is pixels per module (PNG) or user units per module (SVG); ``margin`` is the quiet
zone in modules (QR needs 4, DataMatrix 1, linear symbols 10); ``ec`` is the QR error
correction level (L 7 %, M 15 %, Q 25 %, H 30 %).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import qrcode
import qrcode.exceptions
from PIL import Image, ImageOps

SYMBOLOGIES = ("qr", "datamatrix", "gs1-128", "ean13", "code128")
EC_LEVELS = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
             "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}
DEFAULT_MARGIN = {"qr": 4, "datamatrix": 2, "gs1-128": 10, "ean13": 11, "code128": 10}
FNC1 = "\xf1"  # python-barcode's FNC1 character


@dataclass(frozen=True)
class Symbol:
    """What to draw: ``data`` is a URL (qr), a bracketed GS1 element string
    ``(01)…(10)…`` (datamatrix, gs1-128), 13 digits (ean13) or plain text (code128);
    ``caption`` the human-readable lines printed under it on label sheets."""

    symbology: str
    data: str
    caption: tuple[str, ...] = ()


class SymbolError(ValueError):
    """The data cannot be drawn in this symbology."""


def image(symbol: Symbol, *, size: int = 8, margin: int | None = None,
          ec: str = "M") -> Image.Image:
    """The symbol as a black-on-white PIL image (mode ``1``)."""
    margin = DEFAULT_MARGIN[symbol.symbology] if margin is None else margin
    if symbol.symbology == "qr":
        return _qr(symbol.data, ec, size, margin).make_image().get_image().convert("1")
    if symbol.symbology == "datamatrix":
        modules = _datamatrix_modules(symbol.data)
        scaled = modules.resize((modules.width * size, modules.height * size),
                                Image.Resampling.NEAREST)
        return _pad(scaled, margin * size)
    modules = linear_modules(symbol)
    height = max(size * 50, 40)
    strip = Image.frombytes("L", (len(modules), 1),
                            bytes(0 if bit == "1" else 255 for bit in modules)).convert("1")
    bars = strip.resize((len(modules) * size, height), Image.Resampling.NEAREST)
    return _pad(bars, margin * size, vertical=size * 4)


def png(symbol: Symbol, **options) -> bytes:
    out = io.BytesIO()
    image(symbol, **options).save(out, "PNG", optimize=True)
    return out.getvalue()


def svg(symbol: Symbol, *, size: int = 8, margin: int | None = None, ec: str = "M") -> str:
    """The symbol as SVG: one path of modules, white background, no external references."""
    margin = DEFAULT_MARGIN[symbol.symbology] if margin is None else margin
    if symbol.symbology == "qr":
        qr = _qr(symbol.data, ec, size, margin)
        matrix = qr.get_matrix()  # includes the border
        rows = [[bool(v) for v in row] for row in matrix]
        return _svg_from_rows(rows, size, 0)
    if symbol.symbology == "datamatrix":
        grid = _datamatrix_modules(symbol.data)
        dark = [value == 0 for value in grid.convert("L").tobytes()]
        rows = [dark[y * grid.width:(y + 1) * grid.width] for y in range(grid.height)]
        return _svg_from_rows(rows, size, margin)
    modules = linear_modules(symbol)
    return _svg_linear(modules, size, margin)


# --- QR -------------------------------------------------------------------------------------


def _qr(data: str, ec: str, size: int, margin: int) -> qrcode.QRCode:
    if ec not in EC_LEVELS:
        raise SymbolError(f"error correction must be one of {', '.join(EC_LEVELS)}")
    qr = qrcode.QRCode(error_correction=EC_LEVELS[ec], box_size=size, border=margin)
    qr.add_data(data)
    try:
        qr.make(fit=True)
    except qrcode.exceptions.DataOverflowError:
        raise SymbolError("the data does not fit in a QR code") from None
    return qr


# --- DataMatrix -----------------------------------------------------------------------------


def _datamatrix_modules(hri: str) -> Image.Image:
    """One pixel per module, no quiet zone (GS1 mode: FNC1 first, GS separators)."""
    import zxingcpp

    try:
        barcode = zxingcpp.create_barcode(hri, zxingcpp.BarcodeFormat.DataMatrix, gs1=True)
    except (ValueError, RuntimeError) as exc:
        raise SymbolError(f"cannot encode a GS1 DataMatrix: {exc}") from None
    pixels = memoryview(zxingcpp.write_barcode_to_image(barcode, scale=1,
                                                        add_quiet_zones=False))
    height, width = pixels.shape
    return Image.frombytes("L", (width, height), pixels.tobytes()).convert("1")


# --- linear ---------------------------------------------------------------------------------


def linear_modules(symbol: Symbol) -> str:
    """The bar pattern as a string of 0/1 modules (python-barcode's encoder)."""
    import barcode

    try:
        if symbol.symbology == "ean13":
            digits = symbol.data
            if len(digits) != 13 or not digits.isdigit():
                raise SymbolError("EAN-13 needs 13 digits (a GTIN-13, or a GTIN-14 "
                                  "starting with 0)")
            code = barcode.get_barcode_class("ean13")(digits[:12])
            if code.get_fullcode() != digits:
                raise SymbolError(f"{digits} has a wrong check digit")
        elif symbol.symbology == "gs1-128":
            code = barcode.get_barcode_class("gs1_128")(raw_element_string(symbol.data))
        elif symbol.symbology == "code128":
            code = barcode.get_barcode_class("code128")(symbol.data)
        else:
            raise SymbolError(f"{symbol.symbology} is not a linear symbology")
    except barcode.errors.BarcodeError as exc:
        raise SymbolError(str(exc)) from None
    return "".join(code.build())


#: AIs whose value has a fixed length: no FNC1 separator needed after them.
_FIXED = {"00": 18, "01": 14, "02": 14, "11": 6, "13": 6, "15": 6, "16": 6, "17": 6, "20": 2}


def raw_element_string(hri: str) -> str:
    """``(01)…(10)L1(21)S1`` → ``01…10L1<FNC1>21S1`` (FNC1 after variable-length fields
    that are not last)."""
    parts = []
    rest = hri
    while rest:
        if not rest.startswith("("):
            raise SymbolError(f"not a bracketed GS1 element string: {hri!r}")
        ai, _, rest = rest[1:].partition(")")
        value, _, tail = rest.partition("(")
        rest = "(" + tail if tail else ""
        parts.append((ai, value))
    out = ""
    for i, (ai, value) in enumerate(parts):
        out += ai + value
        if i < len(parts) - 1 and ai not in _FIXED:
            out += FNC1
    return out


# --- drawing helpers ------------------------------------------------------------------------


def _pad(img: Image.Image, pad: int, vertical: int | None = None) -> Image.Image:
    vertical = pad if vertical is None else vertical
    return ImageOps.expand(img, border=(pad, vertical, pad, vertical), fill=1)


def _svg_from_rows(rows: list[list[bool]], size: int, margin: int) -> str:
    n_rows, n_cols = len(rows), len(rows[0]) if rows else 0
    width, height = (n_cols + 2 * margin) * size, (n_rows + 2 * margin) * size
    path = []
    for y, row in enumerate(rows):
        x = 0
        while x < n_cols:
            if row[x]:
                start = x
                while x < n_cols and row[x]:
                    x += 1
                path.append(f"M{(start + margin) * size} {(y + margin) * size}"
                            f"h{(x - start) * size}v{size}h-{(x - start) * size}z")
            else:
                x += 1
    return _svg_document(width, height, "".join(path))


def _svg_linear(modules: str, size: int, margin: int) -> str:
    height = size * 50
    vertical = size * 4
    path = []
    x = 0
    while x < len(modules):
        if modules[x] == "1":
            start = x
            while x < len(modules) and modules[x] == "1":
                x += 1
            path.append(f"M{(start + margin) * size} {vertical}h{(x - start) * size}"
                        f"v{height}h-{(x - start) * size}z")
        else:
            x += 1
    return _svg_document((len(modules) + 2 * margin) * size, height + 2 * vertical,
                         "".join(path))


def _svg_document(width: int, height: int, path: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" shape-rendering="crispEdges">'
            f'<rect width="100%" height="100%" fill="#fff"/>'
            f'<path fill="#000" d="{path}"/></svg>\n')
