"""HTML error pages for the public routes (the API keeps its JSON envelope).

``render_error`` is registered as ``trace_service.http.HTML_ERRORS``: every error a browser
meets outside ``/api/v1`` — a wrong check digit, an unknown code, a rate limit, a 500 —
becomes a short page in the reader's language that names the problem and says what to do.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import make_response, render_template, request

from trace_service.public import i18n

#: Identifier problems in both languages; ``{…}`` come from the error's details.
IDENTIFIER_MESSAGES = {
    "gtin_check_digit": {
        "en": "The product number (GTIN) {value} has a wrong check digit: it ends in "
              "{found}, but a genuine number would end in {expected}.",
        "zh-CN": "商品条码（GTIN）{value} 的校验位错误：末位是 {found}，正确的应为 {expected}。"},
    "sscc_check_digit": {
        "en": "The parcel number (SSCC) {value} has a wrong check digit: it ends in {found}, "
              "but a genuine number would end in {expected}.",
        "zh-CN": "物流单元代码（SSCC）{value} 的校验位错误：末位是 {found}，正确的应为 {expected}。"},
    "unknown_code": {
        "en": "The code {key} is not registered with trace. If it is printed on a pack you "
              "bought, the pack may not be genuine: keep it and call 12315.",
        "zh-CN": "编码 {key} 未在 trace 溯源平台登记。如果它印在您购买的商品上，商品可能不是正品，"
                 "请保留商品并拨打 12315。"},
    "unknown_product": {
        "en": "No product with GTIN {gtin} is registered with trace.",
        "zh-CN": "trace 溯源平台没有登记商品条码为 {gtin} 的商品。"},
    "lot_mismatch": {
        "en": "This serial number is registered, but not in lot {lot} printed on the label. "
              "A label that mixes up lot and serial may be a copy: keep the pack and call "
              "12315.",
        "zh-CN": "此序列号已登记，但不属于标签上的批号 {lot}。批号与序列号不符的标签可能是仿冒的，"
                 "请保留商品并拨打 12315。"},
}

TITLES = {
    404: {"en": "We could not find this code", "zh-CN": "未找到此码"},
    429: {"en": "Too many requests", "zh-CN": "请求过于频繁"},
}


def localized_message(code: str, message: str, details: dict | None, lang: str) -> str:
    templates = IDENTIFIER_MESSAGES.get(code)
    if templates:
        try:
            return templates[lang].format(**(details or {}))
        except (KeyError, IndexError):
            pass
    if code == "too_many_requests" and details:
        return i18n.Translator(lang)("error_429", seconds=details.get("retry_after", 1))
    return message


def _lang() -> str:
    return i18n.pick(request.args.get("lang"), request.cookies.get(i18n.COOKIE),
                     request.accept_languages)


def render_error(status: int, code: str, message: str, details: dict | None):
    lang = _lang()
    t = i18n.Translator(lang)
    title = TITLES.get(status, {}).get(lang) or t("error_generic", status=status)
    html = render_template(
        "public/error.html", t=t, lang=lang, status=status, code=code, title=title,
        message=localized_message(code, message, details, lang),
        identifier_problem=code in IDENTIFIER_MESSAGES or code.startswith(("gtin", "sscc",
                                                                           "ai_", "dl_",
                                                                           "drug_code",
                                                                           "waybill")),
        links={"other_lang": t.other,
               "other_lang_url": quote(request.path, safe="/") + "?lang=" + t.other})
    response = make_response(html, status)
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
        "frame-ancestors 'none'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
