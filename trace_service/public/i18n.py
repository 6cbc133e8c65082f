"""zh-CN and English for the consumer pages.

The language is, in order: ``?lang=`` (the explicit switch; remembered in a cookie), the
``lang`` cookie, the best of ``Accept-Language``, else Chinese. Messages are plain
``str.format`` templates keyed by a short name; a missing key falls back to English, then
to the key itself, so a gap shows up as text, never as an error.
"""

from __future__ import annotations

LANGUAGES = ("zh-CN", "en")
DEFAULT = "zh-CN"
COOKIE = "lang"

EN = {
    "site": "trace · product check",
    "lang_switch": "中文",
    "title_unit": "Check this pack",
    "title_lot": "Lot information",
    "title_product": "Product information",
    "title_parcel": "Parcel tracking",
    "registered": "This code is registered with trace.",
    "recall_title": "RECALLED — do not use or eat this product",
    "recall_body": "Lot {lot} was recalled on {date}.",
    "recall_reason": "Reason: {reason}",
    "recall_severity": "Severity: {severity}",
    "recall_authority": "Ordered by {authority}",
    "recall_advice": "Stop using it and contact the seller or call 12315.",
    "product": "Product",
    "category": "Category",
    "gtin": "GTIN",
    "maker": "Made by",
    "verified": "real-name verified",
    "not_verified": "not verified",
    "credit_code": "Unified social credit code",
    "licences": "Licences",
    "licence_valid": "valid until {date}",
    "licence_lapsed": "NOT valid today (valid {start} to {end})",
    "issuer": "issued by {issuer}",
    "lot": "Lot",
    "production_date": "Produced",
    "expiry_date": "Use by",
    "expired": "EXPIRED",
    "origin": "Origin",
    "serial": "Serial",
    "sscc": "SSCC",
    "waybill": "Waybill",
    "expiry": "Use by",
    "drug_code": "Drug traceability code",
    "state": "Status",
    "sold_by": "Sold by",
    "sold_on": "sold {date}",
    "sellers": "Sold by",
    "seller_note": "on sale since {date}; {sales} sales of this lot recorded",
    "no_sale": "No sale of this pack is on record.",
    "journey": "Journey",
    "journey_empty": "No steps recorded yet.",
    "checks": "Checks of this code",
    "first_check_now": "This is the first check of this code.",
    "checked_times": "First checked on {date}{place}; checked {count} times.",
    "checks_not_counted": "Checks from automated clients were not counted.",
    "checked_in": " in {place}",
    "your_place": "Where are you? (optional, helps spot copies)",
    "place_city": "City",
    "place_none": "— choose —",
    "place_use_location": "Use my approximate location",
    "place_send": "Save",
    "place_saved": "Thank you: your check now counts with its place.",
    "integrity": "Integrity",
    "integrity_verified": "This trail is in the tamper-evident log at checkpoint {size} "
                          "(signed {date}); {count} steps verified.",
    "integrity_failed": "Integrity check FAILED: the stored trail does not match the signed "
                        "log. Treat this page with suspicion.",
    "integrity_incomplete": "{missing} of {count} steps are not in the tamper-evident log yet.",
    "integrity_none": "No steps to verify.",
    "integrity_witnessed": "{n} independent witness(es) cosigned this checkpoint: they vouch "
                           "that the log was not rewritten behind it.",
    "integrity_unwitnessed": "No independent witness has cosigned this checkpoint yet.",
    "report": "Report a problem",
    "report_title": "Report a problem with this product",
    "report_intro": "Your report goes to the seller and the platform and is recorded in the "
                    "product's trail. Contact details are optional and never shown.",
    "report_category": "What is wrong?",
    "report_text": "Describe the problem",
    "report_name": "Your name (optional)",
    "report_phone": "Phone (optional)",
    "report_send": "Send report",
    "report_thanks": "Thank you. Your report was received.",
    "report_reference": "Reference: {ref}",
    "report_back": "Back to the product page",
    "json": "Machine-readable (JSON)",
    "footer": "Data from the trace traceability service. Personal data is never shown here.",
    "key": "Code",
    "carrier": "Carrier",
    "sender": "Sent by",
    "parcel": "Parcel",
    "parcel_status": "Status",
    "error_title": "Sorry",
    "error_404": "We could not find this code",
    "error_back": "Check the code printed on the pack and scan again.",
    "error_report": "If the pack carries exactly this code, it may not be genuine: keep the "
                    "pack and call the 12315 market-regulation hotline.",
    "e_category": "Choose what is wrong.",
    "e_text": "Describe the problem in {min} to {max} characters.",
    "e_name": "The name is too long.",
    "e_phone": "Give a phone number of 5 to 20 digits, or leave it empty.",
    "error_429": "Too many requests. Please wait {seconds} seconds and try again.",
    "error_generic": "Something went wrong ({status}).",
    "unknown_code": "This code is not registered with trace. If it is printed on a pack you "
                    "bought, the pack may not be genuine.",
    # warnings (counterfeit signals)
    "w_repeat_checks": "This code was already checked {count} times, first on {date}{place}. "
                       "If you just opened a new sealed pack, it may be a copy.",
    "w_sold_twice": "This pack was sold {sales} times without being returned in between: "
                    "one of the packs carrying this code may be a copy.",
    "w_two_places": "This code was seen in {a} and {b} within {hours} hours — too far apart "
                    "for one pack. Copies of this code may exist.",
    "w_checked_after_recall": "This code was checked {count} times after the recall.",
    "w_expiry_mismatch": "The use-by date on the label ({label}) differs from the registered "
                         "one ({registered}).",
    "w_expired": "This lot expired on {date}.",
    "i_resold": "This pack was returned and sold again ({sales} sales, {returns} returns).",
    "i_no_sale": "No online sale of this pack is recorded.",
}

ZH = {
    "site": "trace · 商品溯源查询",
    "lang_switch": "English",
    "title_unit": "查验本件商品",
    "title_lot": "批次信息",
    "title_product": "商品信息",
    "title_parcel": "包裹追踪",
    "registered": "此码已在 trace 溯源平台登记。",
    "recall_title": "已召回 — 请勿使用或食用",
    "recall_body": "批次 {lot} 已于 {date} 召回。",
    "recall_reason": "原因：{reason}",
    "recall_severity": "级别：{severity}",
    "recall_authority": "召回决定机关：{authority}",
    "recall_advice": "请停止使用，并联系商家或拨打 12315。",
    "product": "商品",
    "category": "类别",
    "gtin": "商品条码",
    "maker": "生产企业",
    "verified": "已实名认证",
    "not_verified": "未认证",
    "credit_code": "统一社会信用代码",
    "licences": "许可证照",
    "licence_valid": "有效期至 {date}",
    "licence_lapsed": "今日无效（有效期 {start} 至 {end}）",
    "issuer": "发证机关：{issuer}",
    "lot": "批号",
    "production_date": "生产日期",
    "expiry_date": "有效期至",
    "expired": "已过期",
    "origin": "产地",
    "serial": "序列号",
    "sscc": "物流单元代码",
    "waybill": "运单号",
    "expiry": "有效期至",
    "drug_code": "药品追溯码",
    "state": "状态",
    "sold_by": "销售商家",
    "sold_on": "{date} 售出",
    "sellers": "销售商家",
    "seller_note": "自 {date} 起销售；已记录本批次 {sales} 笔销售",
    "no_sale": "暂无本件商品的销售记录。",
    "journey": "流转轨迹",
    "journey_empty": "暂无记录。",
    "checks": "查验记录",
    "first_check_now": "这是此码的首次查验。",
    "checked_times": "首次查验于 {date}{place}；共查验 {count} 次。",
    "checks_not_counted": "来自自动化程序的查验未计入次数。",
    "checked_in": "，地点 {place}",
    "your_place": "您在哪里？（选填，有助于识别仿冒）",
    "place_city": "城市",
    "place_none": "— 请选择 —",
    "place_use_location": "使用我的大致位置",
    "place_send": "保存",
    "place_saved": "谢谢，本次查验已记录地点。",
    "integrity": "防篡改校验",
    "integrity_verified": "本轨迹已写入防篡改日志，检查点 {size}（签署于 {date}）；已校验 {count} 个环节。",
    "integrity_failed": "防篡改校验失败：存储的轨迹与签名日志不符，请谨慎对待本页信息。",
    "integrity_incomplete": "{count} 个环节中有 {missing} 个尚未写入防篡改日志。",
    "integrity_none": "暂无可校验的环节。",
    "integrity_witnessed": "已有 {n} 个独立见证方联署此检查点，证明日志未被暗中改写。",
    "integrity_unwitnessed": "尚无独立见证方联署此检查点。",
    "report": "问题反馈",
    "report_title": "反馈商品问题",
    "report_intro": "您的反馈将送达商家和平台，并记入商品溯源轨迹。联系方式为选填，绝不公开。",
    "report_category": "遇到了什么问题？",
    "report_text": "问题描述",
    "report_name": "姓名（选填）",
    "report_phone": "电话（选填）",
    "report_send": "提交反馈",
    "report_thanks": "谢谢，我们已收到您的反馈。",
    "report_reference": "受理编号：{ref}",
    "report_back": "返回商品页面",
    "json": "机器可读格式（JSON）",
    "footer": "数据来自 trace 溯源平台。本页从不显示个人信息。",
    "key": "编码",
    "carrier": "承运商",
    "sender": "寄件商家",
    "parcel": "包裹",
    "parcel_status": "状态",
    "error_title": "抱歉",
    "error_404": "未找到此码",
    "error_back": "请核对包装上印刷的编码后重新扫描。",
    "error_report": "如果包装上印的正是此码，商品可能不是正品，请保留商品并拨打 12315 市场监管热线。",
    "e_category": "请选择问题类型。",
    "e_text": "请用 {min} 到 {max} 个字描述问题。",
    "e_name": "姓名过长。",
    "e_phone": "请填写 5 到 20 位电话号码，或留空。",
    "error_429": "请求过于频繁，请 {seconds} 秒后重试。",
    "error_generic": "出现错误（{status}）。",
    "unknown_code": "此码未在 trace 溯源平台登记。如果它印在您购买的商品包装上，商品可能不是正品。",
    "w_repeat_checks": "此码已被查验 {count} 次，首次查验于 {date}{place}。如果您刚刚打开的是全新未拆封的商品，它可能是仿冒品。",
    "w_sold_twice": "本件商品在未退货的情况下被售出 {sales} 次：带有此码的商品中可能有仿冒品。",
    "w_two_places": "此码在 {hours} 小时内先后出现在 {a} 和 {b}，相距过远，不可能是同一件商品，可能存在仿冒。",
    "w_checked_after_recall": "召回后此码仍被查验 {count} 次。",
    "w_expiry_mismatch": "标签上的有效期（{label}）与登记的有效期（{registered}）不一致。",
    "w_expired": "该批次已于 {date} 过期。",
    "i_resold": "本件商品曾退货后再次售出（售出 {sales} 次，退货 {returns} 次）。",
    "i_no_sale": "暂无本件商品的线上销售记录。",
}

STEPS = {
    "en": {"commissioning": "Registered by the maker", "listing": "Listed for sale",
           "sale": "Sold", "packing": "Packed", "dispatch": "Handed to the carrier",
           "arrive": "Arrived", "depart": "Departed", "receipt": "Delivered",
           "return_request": "Return requested", "return_receipt": "Returned to the seller",
           "complaint": "Complaint filed", "review": "Reviewed",
           "shipping": "Shipped to the next trader", "receiving": "Received into stock"},
    "zh-CN": {"commissioning": "生产赋码登记", "listing": "上架销售", "sale": "售出",
              "packing": "打包", "dispatch": "交付承运商发货", "arrive": "到达",
              "depart": "离开", "receipt": "已签收", "return_request": "申请退货",
              "return_receipt": "退回商家", "complaint": "投诉", "review": "评价",
              "shipping": "发往下游经营者", "receiving": "收货入库"},
}

STATES = {
    "en": {"commissioned": "in stock, not sold", "sold": "sold", "packed": "packed",
           "dispatched": "dispatched", "in_transit": "in transit", "delivered": "delivered",
           "return_requested": "return requested", "returned": "returned to the seller",
           "active": "active", "shipped": "on its way to a trader",
           "received": "in stock, not sold"},
    "zh-CN": {"commissioned": "在库未售", "sold": "已售出", "packed": "已打包",
              "dispatched": "已发货", "in_transit": "运输中", "delivered": "已签收",
              "return_requested": "退货中", "returned": "已退回商家", "active": "在售",
              "shipped": "经营者间运输中", "received": "在库未售"},
}

CATEGORIES = {
    "en": {"food": "food", "drug": "drug", "medical_device": "medical device",
           "agricultural_product": "agricultural product",
           "agricultural_input": "agricultural input",
           "daily_consumer_good": "daily consumer good",
           "special_equipment": "special equipment", "hazardous": "hazardous goods",
           "rare_earth": "rare-earth product", "other": "other"},
    "zh-CN": {"food": "食品", "drug": "药品", "medical_device": "医疗器械",
              "agricultural_product": "农产品", "agricultural_input": "农资",
              "daily_consumer_good": "日用消费品", "special_equipment": "特种设备",
              "hazardous": "危险品", "rare_earth": "稀土产品", "other": "其他"},
}

LICENCES = {
    "en": {"business_licence": "Business licence", "food_business": "Food business licence",
           "food_production": "Food production licence",
           "drug_business": "Drug business licence",
           "drug_production": "Drug production licence",
           "medical_device_business": "Medical device business licence"},
    "zh-CN": {"business_licence": "营业执照", "food_business": "食品经营许可证",
              "food_production": "食品生产许可证", "drug_business": "药品经营许可证",
              "drug_production": "药品生产许可证",
              "medical_device_business": "医疗器械经营许可证"},
}

REPORT_CATEGORIES = {
    "en": {"counterfeit": "It looks fake", "quality": "Quality problem",
           "expired": "Expired", "damaged": "Damaged", "wrong_item": "Wrong item",
           "empty_parcel": "Empty parcel", "not_delivered": "Not delivered",
           "false_advertising": "Not as described", "other": "Something else"},
    "zh-CN": {"counterfeit": "疑似假冒", "quality": "质量问题", "expired": "已过期",
              "damaged": "破损", "wrong_item": "发错商品", "empty_parcel": "空包裹",
              "not_delivered": "未收到", "false_advertising": "与描述不符", "other": "其他"},
}

RECEIPT_METHODS = {
    "en": {"consignee": "signed by the addressee", "proxy": "signed by a proxy",
           "locker": "parcel locker", "station": "pick-up station"},
    "zh-CN": {"consignee": "本人签收", "proxy": "他人代收", "locker": "快递柜",
              "station": "驿站代收"},
}

SEVERITIES = {
    "en": {"I": "class I — may cause serious harm", "II": "class II — may cause temporary "
           "or reversible harm", "III": "class III — unlikely to cause harm"},
    "zh-CN": {"I": "一级（可能引起严重健康危害）", "II": "二级（可能引起暂时或可逆的健康危害）",
              "III": "三级（一般不会引起健康危害）"},
}

CATALOGS = {"en": EN, "zh-CN": ZH}


def pick(query_lang: str | None, cookie_lang: str | None, accept_language) -> str:
    """The page language (see module docstring). ``accept_language`` is werkzeug's
    ``LanguageAccept``."""
    for candidate in (query_lang, cookie_lang):
        found = normalise(candidate)
        if found:
            return found
    for value, _quality in accept_language or ():
        found = normalise(value)
        if found:
            return found
    return DEFAULT


def normalise(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().lower().replace("_", "-")
    if value.startswith("zh"):
        return "zh-CN"
    if value.startswith("en"):
        return "en"
    return None


class Translator:
    """``t("key", **params)`` in one language, plus the vocabularies as ``t.step(...)`` etc."""

    def __init__(self, lang: str):
        self.lang = lang if lang in CATALOGS else DEFAULT
        self.messages = CATALOGS[self.lang]

    def __call__(self, key: str, **params) -> str:
        template = self.messages.get(key) or EN.get(key) or key
        return template.format(**params) if params else template

    def _vocab(self, table: dict, value: str | None) -> str:
        if value is None:
            return ""
        return table[self.lang].get(value) or table["en"].get(value) or value

    def step(self, value):
        return self._vocab(STEPS, value)

    def state(self, value):
        return self._vocab(STATES, value)

    def category(self, value):
        return self._vocab(CATEGORIES, value)

    def licence(self, value):
        return self._vocab(LICENCES, value)

    def report_category(self, value):
        return self._vocab(REPORT_CATEGORIES, value)

    def receipt_method(self, value):
        return self._vocab(RECEIPT_METHODS, value)

    def severity(self, value):
        return self._vocab(SEVERITIES, value)

    @property
    def other(self) -> str:
        return "en" if self.lang == "zh-CN" else "zh-CN"
