"""Counterfeit signals: what the page warns a shopper about, each with its evidence.

Every signal is ``{"code", "level", "params"}``; ``level`` is ``warning`` (shown in the amber
box) or ``info``. Codes:

``repeat_checks``         the unit was checked by consumers before (count > 1): first check
                          time and coarse place, count. The national drug-code system flags
                          repeat scans the same way.
``sold_twice``            more sales of the serial than returns allow (a returned pack that
                          is sold again is ``resold``, an info, not a warning).
``two_places``            two sightings of the serial (consumer checks with a place, and
                          logistics scans of the parcel carrying it) whose distance could not
                          be travelled in the time between them: over ``MIN_KM`` apart at an
                          implied speed over ``MAX_KMH``; at least one must be a consumer check.
``checked_after_recall``  consumer checks after the lot was recalled.
``expiry_mismatch``       the label's ``?17=`` use-by date differs from the registered one.
``expired``               the lot is past its use-by date.
``resold``, ``no_sale``    infos.
"""

from __future__ import annotations

import datetime as dt

from trace_service.public.checks import Check, ChecksSummary, distance_km, place_label

MIN_KM = 100.0
MAX_KMH = 500.0


def _signal(code: str, level: str, **params) -> dict:
    return {"code": code, "level": level, "params": params}


def unit_signals(facts: dict, checks: ChecksSummary, label_expiry: dt.date | None,
                 today: dt.date) -> list[dict]:
    out = []
    recall = facts.get("recall")
    if recall:
        after = checks.after.get("recall", 0)
        if after:
            out.append(_signal("checked_after_recall", "warning", count=after))
    if checks.count > 1:
        out.append(_signal("repeat_checks", "warning", count=checks.count,
                           first_at=checks.first.at, first_place=place_label(checks.first)))
    sales, returns = facts["counts"]["sales"], facts["counts"]["returns"]
    if sales > returns + 1:
        out.append(_signal("sold_twice", "warning", sales=sales, returns=returns))
    elif sales > 1:
        out.append(_signal("resold", "info", sales=sales, returns=returns))
    elif sales == 0:
        out.append(_signal("no_sale", "info"))
    jump = impossible_jump(checks.recent, facts.get("sightings", []))
    if jump:
        out.append(jump)
    out.extend(lot_signals(facts, label_expiry, today))
    return out


def lot_signals(facts: dict, label_expiry: dt.date | None, today: dt.date) -> list[dict]:
    out = []
    lot = facts.get("lot")
    if not lot:
        return out
    registered = lot.get("expiry_date")
    if label_expiry and registered and label_expiry != registered:
        out.append(_signal("expiry_mismatch", "warning", label=label_expiry,
                           registered=registered))
    if registered and registered < today:
        out.append(_signal("expired", "warning", date=registered))
    return out


def impossible_jump(checks: list[Check], sightings: list[dict]) -> dict | None:
    """The first pair of consecutive sightings no pack could travel between (see module
    docstring), or None. ``sightings`` are logistics scans: ``{"at", "city", "latitude",
    "longitude"}``."""
    points = [(c.at, place_label(c), c.latitude, c.longitude, True)
              for c in checks if c.located]
    points += [(s["at"], s["city"], s["latitude"], s["longitude"], False)
               for s in sightings if s.get("latitude") is not None]
    points.sort(key=lambda p: p[0])
    for a, b in zip(points, points[1:]):
        if not (a[4] or b[4]):
            continue
        km = distance_km(a[2], a[3], b[2], b[3])
        hours = max((b[0] - a[0]).total_seconds() / 3600.0, 1 / 60)
        if km > MIN_KM and km / hours > MAX_KMH:
            return _signal("two_places", "warning", a=a[1], b=b[1],
                           hours=max(1, round(hours)), km=round(km))
    return None
