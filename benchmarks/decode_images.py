"""Deterministic generator of a realistic barcode image set, with ground truth.

    python -m benchmarks.decode_images OUTDIR [--seed N] [--per-cell N] [--subset test]

Writes PNG/JPEG files plus ``truth.json`` (a list of entries: file, kind,
degradation, symbology, text, ids -- the text and symbology as
``scanner_client.decode`` normalises them, the ids as
``scanner_client.codes.parse_code`` must produce them).  The expected values
are built here from the generated fields, independently of the client code.

Kinds of code (what a logistics point meets):
  ean13, upca, upce, ean8         retail GTINs (python-barcode / zxing-cpp writers)
  waybill                         carrier waybill number in Code 128
  gs1-128-sscc, gs1-128-lot       GS1-128 element strings with FNC1: (00) and (01)(17)(10)
  drug                            Chinese 20-digit drug traceability code in Code 128
  qr-dl                           QR code holding a GS1 Digital Link URI
  gs1-dm                          GS1 DataMatrix element string (01)(17)(10)(21)
  none                            a label with printed text and rules but no barcode:
                                  nothing must be decoded (false-positive check)

Degradations: clean, blur, noise, perspective, low_contrast, rotate_small,
rotate_90 (90/180/270), small (1-2 px modules), uneven_light, screen (moire,
gamma, JPEG), jpeg, and combinations.

Each image is made from its own RNG seeded with "seed:kind:degradation:index",
so a subset renders exactly the same pixels as in the full set.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
from dataclasses import dataclass, field
from datetime import date

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

DEFAULT_SEED = 20240611

KINDS = (
    "ean13",
    "upca",
    "upce",
    "ean8",
    "waybill",
    "gs1-128-sscc",
    "gs1-128-lot",
    "drug",
    "qr-dl",
    "gs1-dm",
    "none",
)

DEGRADATIONS = (
    "clean",
    "blur",
    "noise",
    "perspective",
    "low_contrast",
    "rotate_small",
    "rotate_90",
    "small",
    "uneven_light",
    "screen",
    "jpeg",
    "blur+noise+rotate",
    "perspective+low_contrast+jpeg",
    "small+blur",
    "uneven_light+noise",
)

#: A small subset for tests: every kind clean, plus hard cases the client must read
#: (all of them missed by one pyzbar pass over the image; several need fallback passes).
TEST_SUBSET = tuple((k, "clean") for k in KINDS) + (
    ("ean13", "blur"),
    ("gs1-dm", "blur"),
    ("gs1-128-sscc", "rotate_small"),
    ("waybill", "rotate_90"),
    ("ean8", "blur+noise+rotate"),
    ("upca", "small"),
    ("upce", "small"),
    ("gs1-dm", "small"),
    ("qr-dl", "perspective"),
    ("gs1-128-lot", "perspective+low_contrast+jpeg"),
    ("gs1-128-lot", "uneven_light+noise"),
    ("drug", "noise"),
)


@dataclass
class Spec:
    name: str
    kind: str
    degradation: str
    index: int
    symbology: str
    text: str
    ids: dict
    content: str  # what is encoded (writer input)
    ext: str = "png"
    extra: dict = field(default_factory=dict)


# ------------------------------------------------------------------ content


def check_digit(payload: str) -> str:
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(payload)))
    return str((10 - total % 10) % 10)


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _gtin13(rng: random.Random) -> str:
    body = rng.choice(["690", "692", "693", "694", "695", "696", "400", "500", "760"]) + _digits(
        rng, 9
    )
    return body + check_digit(body)


def _upce_expand(upce: str) -> str:
    """8-digit UPC-E -> 12-digit UPC-A (GS1 zero-suppression rules)."""
    ns, d, cd = upce[0], upce[1:7], upce[7]
    last = d[5]
    if last in "012":
        body = d[0:2] + last + "0000" + d[2:5]
    elif last == "3":
        body = d[0:3] + "00000" + d[3:5]
    elif last == "4":
        body = d[0:4] + "00000" + d[4]
    else:
        body = d[0:5] + "0000" + last
    return ns + body + cd


def _lot(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    return rng.choice(letters) + rng.choice(letters) + _digits(rng, rng.randint(3, 6))


def _serial(rng: random.Random) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(6, 12)))


def _expiry(rng: random.Random) -> tuple[str, str]:
    d = date(rng.randint(2025, 2029), rng.randint(1, 12), rng.randint(1, 28))
    return d.strftime("%y%m%d"), d.isoformat()


def _content(kind: str, rng: random.Random) -> tuple[str, str, str, dict, dict]:
    """-> (symbology, normalised text, writer content, expected ids, extra)."""
    if kind == "ean13":
        g = _gtin13(rng)
        return "EAN-13", g, g, {"gtin": "0" + g, "trace_key": None}, {}
    if kind == "upca":
        body = rng.choice(["0", "6", "7", "8"]) + _digits(rng, 10)
        u = body + check_digit(body)
        return "UPC-A", u, u, {"gtin": "00" + u, "trace_key": None}, {}
    if kind == "upce":
        while True:
            d = _digits(rng, 6)
            # canonical zero suppression (what writers accept):
            if (
                (d[5] == "3" and d[2] in "012")
                or (d[5] == "4" and d[3] == "0")
                or (d[5] in "56789" and d[4] == "0")
            ):
                continue
            ns_body = "0" + d
            upca = _upce_expand(ns_body + "0")[:-1]
            cd = check_digit(upca)
            upce = ns_body + cd
            return "UPC-E", upce, upce, {"gtin": "00" + upca + cd, "trace_key": None}, {}
    if kind == "ean8":
        body = rng.choice(["690", "695", "400", "500", "123"])[:2] + _digits(rng, 5)
        e = body + check_digit(body)
        return "EAN-8", e, e, {"gtin": "000000" + e, "trace_key": None}, {}
    if kind == "waybill":
        style = rng.randint(0, 4)
        if style == 0:
            w = "SF" + _digits(rng, 13)
        elif style == 1:
            w = "YT" + _digits(rng, 13)
        elif style == 2:
            w = "JDV" + _digits(rng, 12)
        elif style == 3:
            w = "7730" + _digits(rng, 8)  # 12-digit numeric waybill
        else:
            w = "43" + _digits(rng, 13)
        return "Code128", w, w, {"waybill": w, "trace_key": f"waybill/{w}"}, {}
    if kind == "gs1-128-sscc":
        body = str(rng.randint(0, 9)) + "0693" + _digits(rng, 12)
        sscc = body + check_digit(body)
        hri = f"(00){sscc}"
        return "GS1-128", hri, hri, {"sscc": sscc, "trace_key": f"00/{sscc}"}, {}
    if kind == "gs1-128-lot":
        g = "0" + _gtin13(rng)
        yymmdd, iso = _expiry(rng)
        lot = _lot(rng)
        hri = f"(01){g}(17){yymmdd}(10){lot}"
        ids = {"gtin": g, "expiry": iso, "lot": lot, "trace_key": f"01/{g}/10/{lot}"}
        return "GS1-128", hri, hri, ids, {}
    if kind == "drug":
        code = "8" + _digits(rng, 6) + _digits(rng, 9) + _digits(rng, 4)
        return "Code128", code, code, {"drug_code": code, "trace_key": f"drug/{code}"}, {}
    if kind == "qr-dl":
        g = "0" + _gtin13(rng)
        host = rng.choice(
            ["https://id.gs1.org", "https://trace.example.cn", "https://q.example.com/p"]
        )
        serial = _serial(rng)
        if rng.random() < 0.5:
            lot = _lot(rng)
            uri = f"{host}/01/{g}/10/{lot}/21/{serial}"
            ids = {"gtin": g, "lot": lot, "serial": serial}
        else:
            uri = f"{host}/01/{g}/21/{serial}"
            ids = {"gtin": g, "serial": serial}
        if rng.random() < 0.3:
            yymmdd, iso = _expiry(rng)
            uri += f"?17={yymmdd}"
            ids["expiry"] = iso
        ids["trace_key"] = f"01/{g}/21/{serial}"
        return "QRCode", uri, uri, ids, {}
    if kind == "gs1-dm":
        g = "0" + _gtin13(rng)
        yymmdd, iso = _expiry(rng)
        lot = _lot(rng)
        serial = _serial(rng)
        hri = f"(01){g}(17){yymmdd}(10){lot}(21){serial}"
        ids = {
            "gtin": g,
            "expiry": iso,
            "lot": lot,
            "serial": serial,
            "trace_key": f"01/{g}/21/{serial}",
        }
        return "GS1-DataMatrix", hri, hri, ids, {}
    if kind == "none":
        return None, None, None, None, {}
    raise ValueError(f"unknown kind {kind!r}")


# ---------------------------------------------------------------- rendering


def _zx_image(
    content: str, fmt_name: str, scale: int, gs1: bool = False, hrt: bool = False
) -> Image.Image:
    import zxingcpp

    fmt = getattr(zxingcpp.BarcodeFormat, fmt_name)
    kwargs = {"gs1": True} if gs1 else {}
    bc = zxingcpp.create_barcode(content, fmt, **kwargs)
    return zx_to_pil(bc.to_image(scale=scale, add_hrt=hrt))


def zx_to_pil(zx_image) -> Image.Image:
    """A zxing-cpp Image (8-bit gray, buffer protocol) as a PIL image, without numpy."""
    view = memoryview(zx_image)
    height, width = view.shape[:2]
    return Image.frombytes("L", (width, height), view.tobytes())


def _stretch_linear(img: Image.Image, bar_height: int) -> Image.Image:
    """zxing-cpp draws short bars; give 1D codes a realistic bar height."""
    w, h = img.size
    if h >= bar_height:
        return img
    return img.resize((w, bar_height), Image.Resampling.NEAREST)


def _render_symbol(spec: Spec, module: int, rng: random.Random) -> Image.Image:
    kind, content = spec.kind, spec.content
    if kind in ("ean13", "upca", "ean8") and rng.random() < 0.6 and module >= 2:
        import barcode
        from barcode.writer import ImageWriter

        name = {"ean13": "ean13", "upca": "upca", "ean8": "ean8"}[kind]
        code = content[:-1]  # python-barcode adds the check digit itself
        bc = barcode.get(name, code, writer=ImageWriter())
        dpi = 254  # 0.1 mm per pixel
        img = bc.render(
            {
                "module_width": 0.1 * module,
                "module_height": 1.0 * module * 6,
                "dpi": dpi,
                "quiet_zone": 1.0 * module,
                "font_size": max(6, 4 * module),
                "text_distance": 1.5 * module,
                "write_text": module >= 2,
            }
        )
        return img.convert("L")
    if kind in ("ean13", "upca", "ean8", "upce"):
        fmt = {"ean13": "EAN13", "upca": "UPCA", "ean8": "EAN8", "upce": "UPCE"}[kind]
        img = _zx_image(content, fmt, module, hrt=module >= 2)
        return img
    if kind in ("waybill", "drug"):
        img = _zx_image(content, "Code128", module, hrt=module >= 2)
        return _stretch_linear(img, 40 * module)
    if kind in ("gs1-128-sscc", "gs1-128-lot"):
        img = _zx_image(content, "Code128", module, gs1=True, hrt=module >= 2)
        return _stretch_linear(img, 35 * module)
    if kind == "qr-dl":
        import qrcode

        q = qrcode.QRCode(
            error_correction=rng.choice(
                [qrcode.constants.ERROR_CORRECT_L, qrcode.constants.ERROR_CORRECT_M]
            ),
            box_size=module,
            border=4,
        )
        q.add_data(content)
        q.make(fit=True)
        return q.make_image(fill_color="black", back_color="white").get_image().convert("L")
    if kind == "gs1-dm":
        return _zx_image(content, "DataMatrix", module, gs1=True)
    if kind == "none":
        # printed text, a table with rules and a hatched box: edges but no symbol
        w, h = 95 * module + 20, 40 * module + 20
        img = Image.new("L", (w, h), 255)
        draw = ImageDraw.Draw(img)
        f = _font(max(8, 5 * module))
        for i in range(3):
            line = rng.choice(
                [
                    "WAREHOUSE 3 / DOCK B",
                    "Net wt 500 g",
                    "Keep dry",
                    "MADE IN CHINA",
                    "Store below 25 C",
                    "PO 4471-2208",
                ]
            )
            draw.text((8, 6 + i * 7 * module), line, fill=0, font=f)
        y0 = 6 + 22 * module
        for j in range(4):
            draw.line(
                (8, y0 + j * 4 * module, w - 8, y0 + j * 4 * module),
                fill=0,
                width=max(1, module // 2),
            )
        for x in range(w // 2, w - 8, max(3, 2 * module)):
            draw.line((x, y0, x + 6 * module, y0 + 12 * module), fill=0, width=1)
        return img
    raise ValueError(kind)


_FONT_CACHE: dict[int, ImageFont.ImageFont] = {}


def _font(size: int):
    if size not in _FONT_CACHE:
        try:
            _FONT_CACHE[size] = ImageFont.load_default(size=size)
        except TypeError:  # old Pillow
            _FONT_CACHE[size] = ImageFont.load_default()
    return _FONT_CACHE[size]


def _label(symbol: Image.Image, rng: random.Random, module: int, spec: Spec) -> Image.Image:
    """Put the symbol on a white label with some printed text, on a cardboard-ish background."""
    sw, sh = symbol.size
    pad = max(8, 6 * module)
    text_h = 0 if module < 2 else 3 * (5 * module)
    lw, lh = sw + 2 * pad, sh + 2 * pad + text_h
    paper = rng.randint(225, 255)
    label = Image.new("RGB", (lw, lh), (paper, paper, max(0, paper - rng.randint(0, 12))))
    draw = ImageDraw.Draw(label)
    if text_h:
        f = _font(4 * module)
        lines = [
            rng.choice(
                ["TO: ZHANG **", "FROM: LI **", "SHIP TO: WH-03", "LOT / BATCH", "DRUG TRACE"]
            ),
            f"{spec.kind.upper()} {rng.randint(1000, 9999)}",
            rng.choice(["Handle with care", "FRAGILE", "2/3", "BEIJING-SHANGHAI"]),
        ]
        for i, line in enumerate(lines):
            draw.text((pad, pad // 2 + i * 5 * module), line, fill=(40, 40, 40), font=f)
    label.paste(Image.merge("RGB", (symbol, symbol, symbol)), (pad, pad + text_h))
    # background: brownish cardboard with a little texture
    margin = rng.choice([rng.randint(20, 60), rng.randint(60, 250)])
    W, H = lw + 2 * margin, lh + 2 * margin
    base = (rng.randint(150, 200), rng.randint(120, 160), rng.randint(80, 120))
    tex = _noise((W // 4 + 1, H // 4 + 1), 6, rng).resize(
        (W // 4 * 4 + 4, H // 4 * 4 + 4), Image.Resampling.NEAREST
    )
    tex = tex.crop((0, 0, W, H))
    canvas = Image.merge("RGB", [tex.point(lambda v, b=b: b + v - 128) for b in base])
    canvas.paste(label, (margin, margin))
    return canvas


# ------------------------------------------------------------- degradations


def _noise(size: tuple[int, int], sigma: float, rng: random.Random) -> Image.Image:
    """Deterministic, roughly Gaussian noise around 128 (mean of 3 uniform fields)."""
    w, h = size

    def uniform() -> Image.Image:
        return Image.frombytes("L", (w, h), rng.randbytes(w * h))

    mean3 = Image.blend(Image.blend(uniform(), uniform(), 0.5), uniform(), 1 / 3)
    # mean of 3 U(0, 255): mean 127.5, standard deviation 255 / sqrt(36) = 42.5
    k = sigma / 42.5
    return mean3.point(lambda v: 128 + (v - 127.5) * k)


def _rgb(gray: Image.Image) -> Image.Image:
    return Image.merge("RGB", (gray, gray, gray))


def _scale_by(img: Image.Image, factor_map: Image.Image) -> Image.Image:
    """img * factor, with factor_map an L image holding factor * 255 (factor <= 1)."""
    return ImageChops.multiply(img, _rgb(factor_map) if img.mode == "RGB" else factor_map)


def d_blur(img, rng, module):
    return img.filter(ImageFilter.GaussianBlur(radius=module * rng.uniform(0.45, 0.75)))


def d_noise(img, rng, module):
    sigma = rng.uniform(18, 38)
    n = _noise(img.size, sigma, rng)
    return ImageChops.add(img, _rgb(n) if img.mode == "RGB" else n, scale=1.0, offset=-128)


def d_low_contrast(img, rng, module):
    lo = rng.uniform(70, 130)
    span = rng.uniform(35, 60)
    return img.point(lambda v: lo + v / 255.0 * span)


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (8x8 here)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col:
                f = m[r][col] / m[col][col]
                m[r] = [x - f * y for x, y in zip(m[r], m[col], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def _find_coeffs(src, dst):
    """Coefficients for Image.transform(PERSPECTIVE) mapping dst quad -> src quad."""
    m = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        m.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        m.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    b = [c for point in src for c in point]
    return _solve(m, b)


def d_perspective(img, rng, module):
    w, h = img.size
    k = rng.uniform(0.06, 0.14)
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    dst = []
    for x, y in src:
        dst.append((x + rng.uniform(-k, k) * w, y + rng.uniform(-k, k) * h))
    minx = min(p[0] for p in dst)
    miny = min(p[1] for p in dst)
    dst = [(x - minx, y - miny) for x, y in dst]
    W = int(max(p[0] for p in dst)) + 1
    H = int(max(p[1] for p in dst)) + 1
    coeffs = _find_coeffs(src, dst)
    return img.transform(
        (W, H),
        Image.Transform.PERSPECTIVE,
        coeffs,
        Image.Resampling.BICUBIC,
        fillcolor=(90, 80, 70),
    )


def d_rotate_small(img, rng, module):
    angle = rng.choice([-1, 1]) * rng.uniform(4, 20)
    return img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(90, 80, 70))


def d_rotate_90(img, rng, module):
    return img.rotate(rng.choice([90, 180, 270]), expand=True)


def d_uneven_light(img, rng, module):
    """A light falling off from one point, sometimes a soft shadow band across the label."""
    w, h = img.size
    gw, gh = 64, max(2, round(64 * h / w))  # smooth field: compute coarse, scale up
    cx, cy = rng.uniform(-0.2, 1.2) * gw, rng.uniform(-0.2, 1.2) * gh
    falloff = rng.uniform(0.45, 0.7)
    shadow = rng.random() < 0.6
    ang = rng.uniform(0, math.pi)
    width = 0.03 * max(gw, gh)
    values = []
    for y in range(gh):
        for x in range(gw):
            r = math.hypot(x - cx, y - cy) / math.hypot(gw, gh)
            light = 1.0 - falloff * min(1.0, r * 1.3)
            if shadow:
                d = (x - gw / 2) * math.cos(ang) + (y - gh / 2) * math.sin(ang)
                light *= 1 - 0.35 / (1 + math.exp(max(-50.0, min(50.0, d / width))))
            values.append(max(0, min(255, round(255 * light))))
    field = Image.frombytes("L", (gw, gh), bytes(values))
    return _scale_by(img, field.resize((w, h), Image.Resampling.BICUBIC))


def _stripes(size: tuple[int, int], freq: float, angle_deg: float) -> Image.Image:
    """0.5 + 0.5 cos(2 pi freq t) stripes across ``size``, t along ``angle_deg``, as L 0..255."""
    w, h = size
    diag = int(math.hypot(w, h)) + 4
    row = bytes(round(127.5 + 127.5 * math.cos(2 * math.pi * freq * x)) for x in range(diag))
    stripes = Image.frombytes("L", (diag, 1), row).resize((diag, diag), Image.Resampling.NEAREST)
    stripes = stripes.rotate(angle_deg, resample=Image.Resampling.BILINEAR)
    left, top = (diag - w) // 2, (diag - h) // 2
    return stripes.crop((left, top, left + w, top + h))


def d_screen(img, rng, module):
    """A photo of a label shown on a screen: pixel grid moire, gamma, a bit of blur, JPEG."""
    f1 = rng.uniform(0.35, 0.6)
    ang = math.degrees(rng.uniform(-0.3, 0.3))
    pattern = ImageChops.multiply(
        _stripes(img.size, f1, ang), _stripes(img.size, f1 * 1.07, ang + 90)
    )
    depth = rng.uniform(0.18, 0.3)
    moire = pattern.point(lambda v: 255 * (1 - depth * v / 255))
    gamma = rng.uniform(1.5, 2.2)
    lit = img.point(lambda v: 255 * (0.15 + 0.8 * (v / 255) ** gamma))  # screen black is not black
    out = _scale_by(lit, moire)
    return out.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.4, 0.9)))


def d_jpeg_marker(img, rng, module):
    return img  # JPEG encoding happens at save time (see Spec.extra["jpeg_quality"])


_DEG_FUNCS = {
    "blur": d_blur,
    "noise": d_noise,
    "perspective": d_perspective,
    "low_contrast": d_low_contrast,
    "rotate_small": d_rotate_small,
    "rotate_90": d_rotate_90,
    "uneven_light": d_uneven_light,
    "screen": d_screen,
    "jpeg": d_jpeg_marker,
    "small": lambda img, rng, module: img,
    "rotate": d_rotate_small,
}


def _module_for(kind: str, degradation: str, rng: random.Random) -> int:
    if "small" in degradation.split("+"):
        return rng.choice([1, 2]) if kind not in ("gs1-dm", "qr-dl") else rng.choice([2, 3])
    if kind in ("gs1-dm",):
        return rng.choice([4, 5, 6])
    if kind == "qr-dl":
        return rng.choice([3, 4, 5])
    return rng.choice([2, 3, 3, 4])


def render(spec: Spec) -> tuple[Image.Image, int | None]:
    """-> (image, jpeg_quality or None).  Pure function of the spec."""
    rng = random.Random(f"render:{spec.name}")
    module = _module_for(spec.kind, spec.degradation, rng)
    spec.extra["module_px"] = module
    symbol = _render_symbol(spec, module, rng)
    img = _label(symbol, rng, module, spec)
    jpeg_quality = None
    for step in spec.degradation.split("+"):
        if step == "clean":
            continue
        if step == "blur" and "small" in spec.degradation:
            img = img.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.5, 0.8)))
            continue
        img = _DEG_FUNCS[step](img, rng, module)
        if step == "jpeg":
            jpeg_quality = rng.randint(12, 30)
        if step == "screen":
            jpeg_quality = rng.randint(35, 55)
    return img, jpeg_quality


def build_specs(
    seed: int = DEFAULT_SEED,
    per_cell: int = 2,
    kinds=KINDS,
    degradations=DEGRADATIONS,
    cells=None,
) -> list[Spec]:
    """The list of images to make.  ``cells`` (pairs of kind, degradation) overrides the grid."""
    if cells is None:
        cells = [(k, d) for d in degradations for k in kinds]
    specs = []
    for kind, deg in cells:
        for i in range(per_cell):
            rng = random.Random(f"{seed}:{kind}:{deg}:{i}")
            symbology, text, content, ids, extra = _content(kind, rng)
            name = f"{kind}__{deg.replace('+', '-')}__{i}"
            ext = "jpg" if ("jpeg" in deg or "screen" in deg) else "png"
            specs.append(Spec(name, kind, deg, i, symbology, text, ids, content, ext, dict(extra)))
    return specs


def write_set(outdir, specs: list[Spec] | None = None, **kwargs) -> list[dict]:
    """Render ``specs`` (default: the full set) into ``outdir``; write and return truth.json."""
    if specs is None:
        specs = build_specs(**kwargs)
    os.makedirs(outdir, exist_ok=True)
    truth = []
    for spec in specs:
        img, q = render(spec)
        fname = f"{spec.name}.{spec.ext}"
        path = os.path.join(outdir, fname)
        if spec.ext == "jpg":
            img.convert("RGB").save(path, "JPEG", quality=q or 75)
        else:
            img.save(path, "PNG")
        entry = {
            "file": fname,
            "kind": spec.kind,
            "degradation": spec.degradation,
            "symbology": spec.symbology,
            "text": spec.text,
            "ids": spec.ids,
            "module_px": spec.extra.get("module_px"),
            "size": list(img.size),
        }
        truth.append(entry)
    with open(os.path.join(outdir, "truth.json"), "w", encoding="utf-8") as fh:
        json.dump(truth, fh, indent=1, ensure_ascii=False)
    return truth


def test_subset_specs(seed: int = DEFAULT_SEED) -> list[Spec]:
    """The small subset used by the test suite (~16 images, renders in well under a second)."""
    return build_specs(seed=seed, per_cell=1, cells=TEST_SUBSET)


test_subset_specs.__test__ = False  # not a pytest test


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.decode_images", description=__doc__.split("\n")[0]
    )
    p.add_argument("outdir")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--per-cell", type=int, default=2, help="images per (kind, degradation) cell")
    p.add_argument("--subset", choices=["full", "test"], default="full")
    args = p.parse_args(argv)
    if args.subset == "test":
        specs = test_subset_specs(args.seed)
    else:
        specs = build_specs(seed=args.seed, per_cell=args.per_cell)
    truth = write_set(args.outdir, specs)
    print(f"wrote {len(truth)} images and truth.json to {args.outdir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
