"""Request helpers of the public pages: their per-process state, the client's address and
language, the response headers, the rate-limit decorator. No routes here (see ``routes``)."""

from __future__ import annotations

import datetime as dt
import functools
import os
from dataclasses import dataclass, field
from urllib.parse import urlencode

from flask import Response, current_app, g, request
from itsdangerous import URLSafeTimedSerializer

from trace_service.config import ConfigError, _env_int
from trace_service.http import error_response
from trace_service.public import checks, csrf, i18n, pages
from trace_service.public.cache import TTLCache
from trace_service.public import ratelimit
from trace_service.public.ratelimit import Limit, retry_after
from trace_service.public.views import Clock

STATE = "trace_public"

_CHECK_SALT = "trace-public-check"


@dataclass
class PublicState:
    """Per server process: rate limits (their counters are shared), caches, the day's salt,
    visitors seen."""

    pages: Limit
    reports: Limit
    cache: TTLCache
    salts: checks.SaltBox
    trusted_proxies: int
    seen: checks.SeenVisitors = field(default_factory=checks.SeenVisitors)
    pages_cache: TTLCache = field(default_factory=lambda: TTLCache(0))
    directory: pages.Directory = field(default_factory=pages.Directory)

    def clear_caches(self) -> None:
        self.cache.clear()
        self.pages_cache.clear()


def setting(app, name: str, env: str, default: int) -> int:
    value = app.config.get(name)
    if value is None:
        value = _env_int(env, default)
    if not isinstance(value, int) or value < 0:
        raise ConfigError(f"{env} must be a non-negative integer, got {value!r}")
    app.config[name] = value
    return value


def make_state(app) -> PublicState:
    """Read the settings (strictly: a bad value refuses to start) and make the state."""
    cache_seconds = setting(app, "PUBLIC_CACHE_SECONDS", "TRACE_PUBLIC_CACHE_SECONDS", 5)
    cache = TTLCache(cache_seconds)
    counters, key = rate_counters(app), ratelimit.client_key(app.config["SECRET_KEY"])
    return PublicState(
        pages=Limit("pages", setting(app, "PUBLIC_PAGES_PER_MINUTE",
                                     "TRACE_PUBLIC_PAGES_PER_MINUTE", 60), 60, counters, key),
        reports=Limit("reports", setting(app, "PUBLIC_REPORTS_PER_HOUR",
                                         "TRACE_PUBLIC_REPORTS_PER_HOUR", 5), 3600, counters,
                      key),
        cache=cache, salts=checks.SaltBox(),
        trusted_proxies=setting(app, "PUBLIC_TRUSTED_PROXIES", "TRACE_PUBLIC_TRUSTED_PROXIES",
                                0),
        pages_cache=TTLCache(cache_seconds, max_entries=2000),
        directory=pages.Directory(cache))


def rate_counters(app):
    """Where the rate limits count: Redis with ``TRACE_REDIS_URL``, else the database."""
    url = app.config.get("REDIS_URL") or os.environ.get("TRACE_REDIS_URL")
    if url:
        prefix = app.config.get("REDIS_PREFIX") or os.environ.get("TRACE_REDIS_PREFIX",
                                                                    "trace:")
        try:
            return ratelimit.RedisCounters(url, prefix)
        except ValueError as exc:
            raise ConfigError(f"TRACE_REDIS_URL: {exc}") from None
    return ratelimit.DatabaseCounters(app.extensions["trace_db"])


def state() -> PublicState:
    return current_app.extensions[STATE]


# --- request helpers ------------------------------------------------------------------------


def client_address() -> str:
    """The client's address: the socket peer, or with ``TRACE_PUBLIC_TRUSTED_PROXIES=n``
    the n-th address from the right of ``X-Forwarded-For`` (what the n proxies saw)."""
    hops = state().trusted_proxies
    forwarded = request.headers.get("X-Forwarded-For", "")
    if hops and forwarded:
        chain = [part.strip() for part in forwarded.split(",") if part.strip()]
        if chain:
            return chain[-hops] if len(chain) >= hops else chain[0]
    return request.remote_addr or ""


def language() -> str:
    lang = g.get("_public_lang")
    if lang is None:
        lang = (i18n.normalise(request.args.get("lang"))
                or i18n.normalise(request.cookies.get(i18n.COOKIE))
                or _accepted_language(request.headers.get("Accept-Language", "")))
        g._public_lang = lang
    return lang


@functools.lru_cache(maxsize=1024)
def _accepted_language(header: str) -> str:
    """The page language for an ``Accept-Language`` header (phones send a few distinct
    ones, so the parse is remembered)."""
    from werkzeug.datastructures import LanguageAccept
    from werkzeug.http import parse_accept_header

    return i18n.pick(None, None, parse_accept_header(header, LanguageAccept))


def translator() -> i18n.Translator:
    return _translator(language())


_translator = functools.lru_cache(maxsize=8)(i18n.Translator)


def clock() -> Clock:
    return _clock(current_app.config["DEFAULT_TZ_OFFSET"])


_clock = functools.lru_cache(maxsize=8)(Clock.for_offset)


def today() -> dt.date:
    return dt.datetime.now(clock().tz).date()


def wants_json() -> bool:
    if request.args.get("format") == "json":
        return True
    return _accepts_json(request.headers.get("Accept", ""))


@functools.lru_cache(maxsize=1024)
def _accepts_json(header: str) -> bool:
    from werkzeug.datastructures import MIMEAccept
    from werkzeug.http import parse_accept_header

    return parse_accept_header(header, MIMEAccept).best_match(
        ("text/html", "application/json")) == "application/json"


def limited(bucket: str):
    """Refuse with 429 and ``Retry-After`` once the client's bucket is empty."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            wait = getattr(state(), bucket).take(client_address())
            if wait:
                seconds = retry_after(wait)
                return error_response(
                    429, "too_many_requests",
                    f"too many requests; retry in {seconds} seconds",
                    {"retry_after": seconds}, headers={"Retry-After": str(seconds)})
            return view(*args, **kwargs)

        return wrapper

    return decorate


def _secure_cookie() -> bool:
    return current_app.config["PUBLIC_BASE_URL"].startswith("https://")


_PAGE_HEADERS = (
    ("Content-Security-Policy",
     "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
     "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
    ("Vary", "Accept, Accept-Language, Cookie"),
)


def finish(response: Response, *, nonce: str | None = None) -> Response:
    """Headers every public page gets; remember an explicit language; set the CSRF cookie."""
    response.headers.extend(_PAGE_HEADERS)
    explicit = i18n.normalise(request.args.get("lang"))
    if explicit:
        response.set_cookie(i18n.COOKIE, explicit, max_age=365 * 86400, samesite="Lax",
                            secure=_secure_cookie(), httponly=True)
    if nonce is not None and request.cookies.get(csrf.COOKIE) != nonce:
        response.set_cookie(csrf.COOKIE, nonce, max_age=csrf.MAX_AGE, samesite="Lax",
                            secure=_secure_cookie(), httponly=True)
    return response


def csrf_nonce() -> str:
    return request.cookies.get(csrf.COOKIE) or csrf.new_nonce()


def checks_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_CHECK_SALT)


def lang_links(path: str) -> dict:
    t = translator()
    query = {k: v for k, v in request.args.items() if k != "lang"}
    return {"other_lang": t.other, "other_lang_url": path + "?" + urlencode(
        dict(query, lang=t.other))}
