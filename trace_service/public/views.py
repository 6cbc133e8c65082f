"""Turning page facts into what a person reads (HTML context) or a program reads (JSON)."""

from __future__ import annotations

import datetime as dt

from trace_service.public.checks import ChecksSummary, place_label
from trace_service.public.i18n import Translator

WARNING_MESSAGES = {
    "repeat_checks": "w_repeat_checks", "sold_twice": "w_sold_twice",
    "two_places": "w_two_places", "checked_after_recall": "w_checked_after_recall",
    "expiry_mismatch": "w_expiry_mismatch", "expired": "w_expired",
    "resold": "i_resold", "no_sale": "i_no_sale",
}


class Clock:
    """Formats times in the service's zone (where the shopper most likely is)."""

    def __init__(self, tz: dt.timezone):
        self.tz = tz
        minutes = int(tz.utcoffset(None).total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        self.label = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"

    @classmethod
    def for_offset(cls, offset: str) -> "Clock":
        """A clock for a ``+08:00`` style offset."""
        sign = 1 if offset[0] == "+" else -1
        hours, minutes = offset[1:].split(":")
        return cls(dt.timezone(sign * dt.timedelta(hours=int(hours), minutes=int(minutes))))

    def time(self, value: dt.datetime | None) -> str:
        if value is None:
            return ""
        return value.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")

    @staticmethod
    def date(value: dt.date | None) -> str:
        return value.isoformat() if value else ""


def signal_message(signal: dict, t: Translator, clock: Clock) -> str:
    params = dict(signal["params"])
    code = signal["code"]
    if code == "repeat_checks":
        place = params.get("first_place")
        params = {"count": params["count"], "date": clock.time(params["first_at"]),
                  "place": t("checked_in", place=place) if place else ""}
    for name, value in list(params.items()):
        if isinstance(value, dt.datetime):
            params[name] = clock.time(value)
        elif isinstance(value, dt.date):
            params[name] = clock.date(value)
    return t(WARNING_MESSAGES.get(code, code), **params)


def checks_view(summary: ChecksSummary | None, mine_is_first: bool, t: Translator,
                clock: Clock) -> dict | None:
    if summary is None:
        return None
    first_place = place_label(summary.first)
    if summary.count <= 1:
        text = t("first_check_now") if summary.count == 1 and mine_is_first else (
            t("checked_times", date=clock.time(summary.first.at), count=summary.count,
              place=t("checked_in", place=first_place) if first_place else "")
            if summary.first else "")
    else:
        text = t("checked_times", date=clock.time(summary.first.at), count=summary.count,
                 place=t("checked_in", place=first_place) if first_place else "")
    return {"count": summary.count, "text": text,
            "first_at": summary.first.at if summary.first else None,
            "first_place": first_place, "mine_is_first": mine_is_first,
            "not_counted": t("checks_not_counted") if summary.not_counted else None}


def to_json(value):
    """Dates and datetimes as ISO 8601 strings, recursively; private ``_`` keys dropped."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


PUBLIC_JSON_FIELDS = ("kind", "key", "identifiers", "state", "product", "maker", "lot",
                      "recall", "sales", "sellers", "carrier", "sender", "journey", "counts",
                      "integrity")


def static_json(facts: dict) -> dict:
    """The part of the JSON document that is the same for every visitor (cacheable)."""
    out = {name: facts[name] for name in PUBLIC_JSON_FIELDS if name in facts}
    if "journey" in facts:
        out["journey"] = [{k: v for k, v in step.items() if k not in ("latitude", "longitude")}
                          for step in facts["journey"]]
    return to_json(out)


def json_document(static: dict, summary: ChecksSummary | None, mine_is_first: bool,
                  signals: list[dict], t: Translator, clock: Clock, links: dict) -> dict:
    out = dict(static)
    if summary is not None:
        out["checks"] = to_json({"count": summary.count,
                                 "first_checked_at": summary.first.at if summary.first else None,
                                 "first_checked_place": place_label(summary.first),
                                 "this_is_the_first": mine_is_first,
                                 "automated_not_counted": summary.not_counted})
    out["signals"] = [{"code": s["code"], "level": s["level"],
                       "message": signal_message(s, t, clock)} for s in signals]
    out["language"] = t.lang
    out["links"] = links
    return out
