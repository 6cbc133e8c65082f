"""Barcode decoding from image files / PIL images.

Strategy (stop as soon as a pass finds something):

1. the image as it is (grayscale): zbar via pyzbar -- fast and good on 1D and
   QR -- then zxing-cpp.  When zbar already found codes, zxing-cpp only looks
   for the symbologies zbar cannot read (DataMatrix, Aztec, PDF417, ...), so a
   drug pack with an EAN-13 *and* a GS1 DataMatrix yields both; otherwise it
   looks for everything (it also reads hard photos better).
2. fallback passes over transformed copies, cheapest and most useful first:
   autocontrast, lighting flattening, upscaling of small images, denoising,
   sharpening, other zxing binarizers, thresholding, rotations of a few
   degrees beyond what the decoders tolerate.

Results are normalised so that the same symbol gives the same
``(symbology, text)`` whichever decoder read it:

* symbology names: "EAN-13", "EAN-8", "UPC-A", "UPC-E", "Code128", "GS1-128",
  "QRCode", "GS1-QRCode", "DataMatrix", "GS1-DataMatrix", "Code39", ...
* an EAN-13 whose first digit is 0 *is* a UPC-A symbol (same bars): it is
  reported as "UPC-A" with the 12 printed digits; a UPC-E is reported with its
  8 printed digits (zxing-cpp expands it to 13, that is undone).  The GTIN
  meaning is the same either way (``codes.parse_code`` gives the GTIN-14).
* GS1 content (FNC1 in first position: GS1-128, GS1 DataMatrix, GS1 QR) is
  given in ``text`` in human readable form, ``(01)09506000134352(10)ABC``; the
  element string as transmitted (GS = ASCII 29 between variable-length fields,
  no leading FNC1) is in ``raw``, and ``symbology_identifier`` holds the AIM
  identifier (``]C1``, ``]d2``, ``]Q3``, ...).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from ctypes import POINTER, c_uint, c_void_p, cast, string_at
from dataclasses import dataclass, field

from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from scanner_client.codes import raw_element_string_to_hri

__all__ = ["Decoded", "DecodeError", "decode_image", "load_image", "DECODERS"]

#: Fallback passes work on a copy no larger than this (longest side, pixels); the
#: first pass always sees the full resolution (and zxing-cpp also tries downscales).
FALLBACK_MAX_SIDE = 1600
#: Default time budget for one image; fallback passes stop when it is spent.
DEFAULT_MAX_SECONDS = 3.0

PYZBAR = "pyzbar"
ZXING = "zxing-cpp"
DECODERS = (PYZBAR, ZXING)
GS = "\x1d"


class DecodeError(Exception):
    """The input cannot be decoded at all: missing file, not an image, corrupt data.

    The message is the reason only (the caller knows which file it was).
    """


@dataclass(frozen=True)
class Decoded:
    """One barcode found in an image."""

    symbology: str
    text: str
    decoder: str
    symbology_identifier: str | None = None
    content_type: str = "Text"  # "Text", "GS1", "Binary", ...
    raw: str | None = None
    stage: str = "original"  # which image pass found it
    #: (x0, y0, x1, y1) in the pixels of the pass that found it, when the decoder says
    bbox: tuple[int, int, int, int] | None = field(default=None, compare=False, repr=False)

    @property
    def is_gs1(self) -> bool:
        return self.content_type == "GS1"


# ---------------------------------------------------------------- image input


def load_image(source) -> Image.Image:
    """Open ``source`` (path or PIL image) as an 8-bit grayscale image, EXIF-rotated."""
    if isinstance(source, Image.Image):
        img = source
    else:
        path = os.fspath(source)
        if not os.path.exists(path):
            raise DecodeError("no such file")
        if os.path.isdir(path):
            raise DecodeError("is a directory, not an image")
        try:
            with Image.open(path) as opened:
                opened.load()
                img = ImageOps.exif_transpose(opened)
                if img is None or img is opened:
                    img = opened.copy()
        except UnidentifiedImageError:
            raise DecodeError("not an image file (format not recognised)") from None
        except PermissionError:
            raise DecodeError("cannot read image: permission denied") from None
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise DecodeError(f"cannot read image: {exc}") from None
    try:
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            # Transparent labels (PNG exports): composite on white, not black.
            rgba = img.convert("RGBA")
            bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            img = Image.alpha_composite(bg, rgba)
        if img.mode.startswith("I") or img.mode == "F":
            # 16/32-bit or float grayscale (scanner / machine-vision cameras): stretch to 8 bits
            img = img.convert("F")
            lo, hi = img.getextrema()
            span = (hi - lo) or 1.0
            img = img.point(lambda v: (v - lo) * 255.0 / span)
        if img.mode != "L":
            img = img.convert("L")
    except (OSError, ValueError) as exc:
        raise DecodeError(f"cannot convert image to grayscale: {exc}") from None
    if img.width < 1 or img.height < 1:
        raise DecodeError("empty image")
    return img


# ---------------------------------------------------------------------- zbar

_ZBAR_NAMES = {
    "EAN13": "EAN-13",
    "EAN8": "EAN-8",
    "UPCA": "UPC-A",
    "UPCE": "UPC-E",
    "ISBN10": "ISBN-10",
    "ISBN13": "EAN-13",
    "CODE128": "Code128",
    "CODE39": "Code39",
    "CODE93": "Code93",
    "I25": "ITF",
    "CODABAR": "Codabar",
    "QRCODE": "QRCode",
    "DATABAR": "GS1-DataBar",
    "DATABAR_EXP": "GS1-DataBar-Expanded",
    "PDF417": "PDF417",
    "SQCODE": "SQCode",
}

# Symbologies zbar is not asked for: its DataBar decoder prints assertion noise
# on stderr for ordinary photos (zxing-cpp reads DataBar instead), and Codabar /
# SQ codes only add phantom reads at logistics points.
_ZBAR_DISABLED = ("DATABAR", "DATABAR_EXP", "CODABAR", "SQCODE", "PDF417", "ISBN10", "ISBN13")

_zbar = None


def _zbar_api():
    """Lazy import of pyzbar's ctypes wrapper, plus zbar_symbol_get_modifiers.

    pyzbar.decode() does not expose zbar's symbol modifiers, and the GS1 modifier
    is the only way to tell a GS1-128 from a plain Code 128 (zbar drops the FNC1).
    """
    global _zbar
    if _zbar is None:
        from pyzbar import pyzbar as pz
        from pyzbar import wrapper as w

        try:
            get_modifiers = w.zbar_function(
                "zbar_symbol_get_modifiers", c_uint, POINTER(w.zbar_symbol)
            )
        except AttributeError:  # zbar < 0.23
            get_modifiers = None
        _zbar = (pz, w, get_modifiers)
    return _zbar


def _zbar_scan(img: Image.Image, stage: str) -> list[Decoded]:
    pz, w, get_modifiers = _zbar_api()
    pixels = img.tobytes()
    width, height = img.size
    out: list[Decoded] = []
    with pz._image_scanner() as scanner:
        # Report UPC-A and UPC-E as themselves (by default zbar folds them into EAN-13).
        for sym in (w.ZBarSymbol.UPCA, w.ZBarSymbol.UPCE):
            w.zbar_image_scanner_set_config(scanner, sym, w.ZBarConfig.CFG_ENABLE, 1)
        for name in _ZBAR_DISABLED:
            sym = getattr(w.ZBarSymbol, name, None)
            if sym is not None:
                w.zbar_image_scanner_set_config(scanner, sym, w.ZBarConfig.CFG_ENABLE, 0)
        with pz._image() as zimg:
            w.zbar_image_set_format(zimg, pz._FOURCC["L800"])
            w.zbar_image_set_size(zimg, width, height)
            w.zbar_image_set_data(zimg, cast(pixels, c_void_p), len(pixels), None)
            if w.zbar_scan_image(scanner, zimg) < 0:
                return []
            for sym in pz._symbols_for_image(zimg):
                data = string_at(w.zbar_symbol_get_data(sym), w.zbar_symbol_get_data_length(sym))
                try:
                    type_name = w.ZBarSymbol(sym.contents.type).name
                except ValueError:
                    continue
                gs1 = bool(get_modifiers(sym) & 1) if get_modifiers else False
                n = w.zbar_symbol_get_loc_size(sym)
                xs = [w.zbar_symbol_get_loc_x(sym, i) for i in range(n)]
                ys = [w.zbar_symbol_get_loc_y(sym, i) for i in range(n)]
                bbox = (min(xs), min(ys), max(xs), max(ys)) if n else None
                d = _normalise(
                    family=_ZBAR_NAMES.get(type_name, type_name),
                    raw=data.decode("utf-8", errors="replace"),
                    gs1=gs1,
                    sid=None,
                    decoder=PYZBAR,
                    stage=stage,
                    bbox=bbox,
                )
                if d:
                    out.append(d)
    return out


# -------------------------------------------------------------------- zxing

_zx = None

# zxing-cpp format names (str(BarcodeFormat)) -> our names; matched by prefix so that
# sub-formats of newer versions ("DataBar Omni", "QR Code Model 2", ...) map to a family.
_ZXING_NAMES = (
    ("EAN-13", "EAN-13"),
    ("EAN-8", "EAN-8"),
    ("UPC-A", "UPC-A"),
    ("UPC-E", "UPC-E"),
    ("ISBN", "EAN-13"),
    ("Code 128", "Code128"),
    ("Code 39", "Code39"),
    ("Code 93", "Code93"),
    ("ITF-14", "ITF-14"),
    ("ITF", "ITF"),
    ("Codabar", "Codabar"),
    ("Micro QR", "MicroQRCode"),
    ("rMQR", "rMQRCode"),
    ("QR Code", "QRCode"),
    ("Data Matrix", "DataMatrix"),
    ("DataMatrix", "DataMatrix"),
    ("DataBar Expanded", "GS1-DataBar-Expanded"),
    ("DataBar Limited", "GS1-DataBar-Limited"),
    ("DataBar", "GS1-DataBar"),
    ("Aztec", "Aztec"),
    ("PDF417", "PDF417"),
    ("Compact PDF417", "PDF417"),
    ("MicroPDF417", "MicroPDF417"),
    ("MaxiCode", "MaxiCode"),
)


# Symbologies zxing-cpp is asked for.  Left out on purpose: Codabar, Telepen, DX film
# edge, PZN, Code 32, EAN-2/5 add-ons -- not used on the labels we read, and their
# short, weakly checked patterns produce phantom reads in text and noise.
_ZXING_EXTRA = (
    "DataMatrix",
    "Aztec",
    "PDF417",
    "MaxiCode",
    "MicroQRCode",
    "RMQRCode",
    "DataBar",
    "DataBarExpanded",
    "DataBarLimited",
)
_ZXING_ALSO_IN_ZBAR = (
    "EAN13",
    "EAN8",
    "UPCA",
    "UPCE",
    "Code128",
    "Code39",
    "Code93",
    "ITF",
    "QRCode",
)


def _zxing():
    global _zx
    if _zx is None:
        import zxingcpp

        F = zxingcpp.BarcodeFormat

        def formats(names):
            fmts = []
            for name in names:
                fmt = getattr(F, name, None)
                if fmt is not None and fmt not in fmts:
                    fmts.append(fmt)
            seq = tuple(fmts)
            try:  # zxing-cpp >= 3 takes a sequence ("|" is deprecated there) ...
                zxingcpp.read_barcodes(Image.new("L", (8, 8), 255), formats=seq)
                return seq
            except TypeError:  # ... older versions want BarcodeFormats built with "|"
                combined = fmts[0]
                for fmt in fmts[1:]:
                    combined = combined | fmt
                return combined

        # What zbar cannot read (or what we do not let zbar read, see _ZBAR_DISABLED):
        # looked for by zxing-cpp even when zbar already found something.
        extra = formats(_ZXING_EXTRA)
        everything = formats(_ZXING_EXTRA + _ZXING_ALSO_IN_ZBAR)
        _zx = (zxingcpp, extra, everything)
    return _zx


def _zxing_family(fmt) -> str:
    s = str(fmt)
    for prefix, name in _ZXING_NAMES:
        if s.startswith(prefix):
            return name
    return s.replace(" ", "")


def _zxing_scan(
    img: Image.Image,
    stage: str,
    *,
    matrix_only: bool = False,
    binarizer: str | None = None,
    try_invert: bool = True,
) -> list[Decoded]:
    zx, matrix_formats, all_formats = _zxing()
    kwargs = dict(
        try_rotate=True,
        try_downscale=True,
        try_invert=try_invert,
        text_mode=zx.TextMode.Plain,  # raw content; GS1 HRI is made by us, same as for zbar
    )
    kwargs["formats"] = matrix_formats if matrix_only else all_formats
    if binarizer:
        kwargs["binarizer"] = getattr(zx.Binarizer, binarizer)
    out: list[Decoded] = []
    for r in zx.read_barcodes(img, **kwargs):
        if not r.valid:
            continue
        bbox = None
        try:
            pos = r.position
            xs = [pos.top_left.x, pos.top_right.x, pos.bottom_right.x, pos.bottom_left.x]
            ys = [pos.top_left.y, pos.top_right.y, pos.bottom_right.y, pos.bottom_left.y]
            bbox = (min(xs), min(ys), max(xs), max(ys))
        except AttributeError:  # pragma: no cover - other zxing-cpp versions
            pass
        gs1 = r.content_type == zx.ContentType.GS1
        d = _normalise(
            family=_zxing_family(r.format),
            raw=r.text,
            gs1=gs1,
            sid=r.symbology_identifier or None,
            decoder=ZXING,
            stage=stage,
            bbox=bbox,
        )
        if d:
            out.append(d)
    return out


# ------------------------------------------------------------- normalisation

_SID_DEFAULTS = {
    # (family, gs1) -> AIM symbology identifier, for decoders that do not give one
    ("EAN-13", False): "]E0",
    ("UPC-A", False): "]E0",
    ("UPC-E", False): "]E0",
    ("EAN-8", False): "]E4",
    ("Code128", False): "]C0",
    ("Code128", True): "]C1",
    ("QRCode", False): "]Q1",
    ("QRCode", True): "]Q3",
    ("DataMatrix", False): "]d1",
    ("DataMatrix", True): "]d2",
    ("GS1-DataBar", True): "]e0",
    ("GS1-DataBar-Expanded", True): "]e0",
    ("GS1-DataBar-Limited", True): "]e0",
    ("ITF", False): "]I0",
    ("Code39", False): "]A0",
}

_GS1_NAMES = {"Code128": "GS1-128", "QRCode": "GS1-QRCode", "DataMatrix": "GS1-DataMatrix"}


def _upca_to_upce(upca12: str) -> str | None:
    try:
        from biip.upc import Upc

        return Upc.parse(upca12).as_upc_e()
    except Exception:  # not compressible / not valid: keep the long form
        return None


def _normalise(
    *,
    family: str,
    raw: str,
    gs1: bool,
    sid: str | None,
    decoder: str,
    stage: str,
    bbox: tuple[int, int, int, int] | None = None,
) -> Decoded | None:
    if raw is None:
        return None
    text = raw
    if family.startswith("GS1-DataBar"):
        gs1 = True
    if family in ("EAN-13", "UPC-A") and len(raw) == 13 and raw.startswith("0"):
        family, text = "UPC-A", raw[1:]
    elif family == "UPC-E" and len(raw) in (12, 13):
        # zxing-cpp expands UPC-E to the UPC-A/EAN-13 form; report the printed 8 digits.
        upce = _upca_to_upce(raw[-12:])
        text = upce or raw[-12:]
    symbology = family
    content_type = "Text"
    if gs1:
        content_type = "GS1"
        raw = raw.lstrip(GS)
        text = raw_element_string_to_hri(raw) or raw
        symbology = _GS1_NAMES.get(family, family if family.startswith("GS1-") else f"GS1-{family}")
    if not sid:
        sid = _SID_DEFAULTS.get((family, gs1))
    elif gs1 and family == "DataMatrix" and sid != "]d2":
        # zxing-cpp 3.x reports "]d8"-style identifiers for some writer output;
        # the AIM identifier for GS1 DataMatrix (FNC1 first) is ]d2.
        sid = "]d2"
    return Decoded(
        symbology=symbology,
        text=text,
        decoder=decoder,
        symbology_identifier=sid,
        content_type=content_type,
        raw=raw,
        stage=stage,
        bbox=bbox,
    )


# ------------------------------------------------------------------ passes


def _autocontrast(g: Image.Image) -> Image.Image:
    return ImageOps.autocontrast(g, cutoff=1)


def _flatten_lighting(g: Image.Image) -> Image.Image:
    """Divide out uneven lighting: subtract a smooth estimate of the paper brightness."""
    w, h = g.size
    f = max(1, min(w, h) // 64)
    small = g.resize((max(1, w // f), max(1, h // f)), Image.Resampling.BOX)
    bg = small.filter(ImageFilter.MaxFilter(5)).filter(ImageFilter.GaussianBlur(3))
    bg = bg.resize((w, h), Image.Resampling.BILINEAR)
    from PIL import ImageChops

    dark = ImageChops.subtract(bg, g)  # how much darker than the local paper
    return ImageOps.autocontrast(ImageOps.invert(dark), cutoff=1)


def _scale(g: Image.Image, factor: float, resample=Image.Resampling.BICUBIC) -> Image.Image:
    w, h = g.size
    return g.resize((max(1, round(w * factor)), max(1, round(h * factor))), resample)


def _otsu(g: Image.Image) -> Image.Image:
    hist = g.histogram()
    total = sum(hist)
    sum_all = sum(i * c for i, c in enumerate(hist))
    w_b = 0
    sum_b = 0.0
    best, thresh = -1.0, 128
    for t in range(256):
        w_b += hist[t]
        if w_b == 0:
            continue
        w_f = total - w_b
        if w_f == 0:
            break
        sum_b += t * hist[t]
        m_b = sum_b / w_b
        m_f = (sum_all - sum_b) / w_f
        between = w_b * w_f * (m_b - m_f) ** 2
        if between > best:
            best, thresh = between, t
    return g.point(lambda v: 255 if v > thresh else 0)


def _rotate(g: Image.Image, angle: float) -> Image.Image:
    return g.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)


Stage = tuple[str, Callable[[Image.Image], Image.Image | None], dict]


def _smooth_sharpen(im: Image.Image, smooth: float = 1.0, radius: int = 3, percent: int = 400):
    """Blur a little (kills sensor noise / JPEG blocks), then sharpen hard (restores edges)."""
    return _autocontrast(im.filter(ImageFilter.GaussianBlur(smooth))).filter(
        ImageFilter.UnsharpMask(radius=radius, percent=percent, threshold=0)
    )


def _fallback_stages(g: Image.Image) -> Iterator[Stage]:
    """Transformed copies to try, in order; each costs one zbar + one zxing-cpp pass."""
    w, h = g.size
    longest = max(w, h)
    up = 3 if longest < 500 else 2 if longest < 1000 else None
    yield "autocontrast", _autocontrast, {}
    yield "flatten-lighting", _flatten_lighting, {}
    yield "smooth-sharpen", _smooth_sharpen, {}
    if up:
        yield f"upscale-{up}x", lambda im: _scale(_autocontrast(im), up), {}
    yield "denoise", lambda im: _autocontrast(im.filter(ImageFilter.MedianFilter(3))), {}
    yield (
        "sharpen",
        lambda im: _autocontrast(im).filter(
            ImageFilter.UnsharpMask(radius=2, percent=250, threshold=0)
        ),
        {},
    )
    yield "global-histogram", _autocontrast, {"binarizer": "GlobalHistogram"}
    yield "smooth-sharpen-threshold", lambda im: _otsu(_smooth_sharpen(im, 1.5, 4, 500)), {}
    if longest > 1000:
        yield "downscale-0.5x", lambda im: _scale(_autocontrast(im), 0.5, Image.Resampling.BOX), {}
    yield "threshold", lambda im: _otsu(_flatten_lighting(im)), {}
    if up:
        yield (
            f"upscale-{up}x-sharpen",
            lambda im: _scale(_autocontrast(im), up).filter(
                ImageFilter.UnsharpMask(radius=2, percent=200, threshold=0)
            ),
            {},
        )
    for angle in (15, -15, 30, -30):
        yield f"rotate-{angle}", lambda im, a=angle: _rotate(_smooth_sharpen(im), a), {}


# ---------------------------------------------------------------------- main


def _inside(inner: tuple, outer: tuple) -> bool:
    """Is the centre of ``inner`` within ``outer`` (grown by a margin)?"""
    cx, cy = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
    x0, y0, x1, y1 = outer
    m = max(10.0, 0.15 * max(x1 - x0, y1 - y0))
    return x0 - m <= cx <= x1 + m and y0 - m <= cy <= y1 + m


def _drop_nested_retail(found: list[Decoded]) -> list[Decoded]:
    """Drop a UPC-E / EAN-8 read inside an EAN-13 / UPC-A symbol.

    The 6-digit UPC-E and the 8-digit EAN-8 patterns also match half of an EAN-13;
    zxing-cpp sometimes reports such a phantom next to the real code.
    """
    long_codes = [d for d in found if d.symbology in ("EAN-13", "UPC-A") and d.bbox]
    if not long_codes:
        return found
    return [
        d
        for d in found
        if not (
            d.symbology in ("UPC-E", "EAN-8")
            and (d.bbox is None or any(_inside(d.bbox, x.bbox) for x in long_codes))
        )
    ]


def _dedupe(found: Iterable[Decoded]) -> list[Decoded]:
    seen: dict[tuple[str, str], Decoded] = {}
    for d in found:
        key = (d.symbology, d.text)
        if key not in seen:
            seen[key] = d
    return _drop_nested_retail(list(seen.values()))


def _scan(img: Image.Image, stage: str, decoders: tuple[str, ...], binarizer=None) -> list[Decoded]:
    found: list[Decoded] = []
    if PYZBAR in decoders and binarizer is None:
        found.extend(_zbar_scan(img, stage))
    if ZXING in decoders:
        found.extend(
            _zxing_scan(
                img,
                stage,
                matrix_only=bool(found),
                binarizer=binarizer,
                # inverted (light-on-dark) symbols are looked for on the original only
                try_invert=stage == "original",
            )
        )
    return _dedupe(found)


#: Symbologies whose only protection is one mod-10 check digit (or none): a noisy
#: or blurred image can be misread into another number that still passes.  Outside
#: zbar's pass over the unmodified image, such a read counts only when a second,
#: independent read agrees (the other decoder, or another copy of the image).
WEAKLY_CHECKED = frozenset({"EAN-13", "EAN-8", "UPC-A", "UPC-E", "Code39", "ITF", "ITF-14"})


def _key(d: Decoded) -> tuple[str, str]:
    return (d.symbology, d.text)


def _needs_confirmation(d: Decoded) -> bool:
    return d.symbology in WEAKLY_CHECKED and not (d.stage == "original" and d.decoder == PYZBAR)


def _confirmed(d: Decoded, variant: Image.Image, decoders: tuple[str, ...]) -> bool:
    """Does a second read, independent of the one that found ``d``, give the same code?"""
    other = ZXING if d.decoder == PYZBAR else PYZBAR
    attempts: list[tuple[Image.Image, tuple[str, ...]]] = []
    if other in decoders:
        attempts.append((variant, (other,)))
    w, h = variant.size
    attempts.append(
        (
            variant.resize((max(1, w * 4 // 5), max(1, h * 4 // 5)), Image.Resampling.BICUBIC),
            decoders,
        )
    )
    attempts.append((variant.filter(ImageFilter.GaussianBlur(0.7)), decoders))
    for img, decs in attempts:
        found: list[Decoded] = []
        if PYZBAR in decs:
            found.extend(_zbar_scan(img, "confirm"))
        if ZXING in decs:
            found.extend(_zxing_scan(img, "confirm", try_invert=False))
        if any(_key(x) == _key(d) for x in found):
            return True
    return False


def _accept(
    found: list[Decoded], variant: Image.Image, decoders: tuple[str, ...], votes: dict
) -> list[Decoded]:
    """The reads of one pass that can be reported (see WEAKLY_CHECKED)."""
    accepted = []
    for d in found:
        if not _needs_confirmation(d):
            accepted.append(d)
            continue
        seen = votes.setdefault(_key(d), [])
        seen.append(d)
        if len(seen) >= 2 or _confirmed(d, variant, decoders):
            accepted.append(seen[0])
    return accepted


def decode_image(
    source,
    *,
    decoders: Iterable[str] = DECODERS,
    fallbacks: bool = True,
    max_seconds: float | None = DEFAULT_MAX_SECONDS,
) -> list[Decoded]:
    """Decode every barcode in ``source`` (a path or a PIL image).

    Returns an empty list when nothing is found; raises :class:`DecodeError` when
    the input is not a readable image.  ``decoders`` selects a subset of
    ("pyzbar", "zxing-cpp"); ``fallbacks=False`` stops after the pass over the
    unmodified image.  ``max_seconds`` bounds the time spent on one image: the
    first pass always runs, fallback passes stop once it is spent (None: no limit).
    """
    started = time.perf_counter()
    decoders = tuple(decoders)
    unknown = set(decoders) - set(DECODERS)
    if unknown:
        raise ValueError(f"unknown decoder(s): {', '.join(sorted(unknown))}")
    gray = load_image(source)
    votes: dict[tuple[str, str], list[Decoded]] = {}
    found = _accept(_scan(gray, "original", decoders), gray, decoders, votes)
    if found or not fallbacks:
        return found
    work = gray
    if max(gray.size) > FALLBACK_MAX_SIDE:
        work = _scale(gray, FALLBACK_MAX_SIDE / max(gray.size), Image.Resampling.BOX)
    for name, transform, opts in _fallback_stages(work):
        if max_seconds is not None and time.perf_counter() - started > max_seconds:
            break
        if opts.get("binarizer") and ZXING not in decoders:
            continue
        variant = transform(work)
        if variant is None:
            continue
        found = _scan(variant, name, decoders, binarizer=opts.get("binarizer"))
        found = _accept(found, variant, decoders, votes)
        if found:
            return found
    return []
