"""Settings: defaults, then the instance folder's config.py, then TRACE_* environment variables.

Every setting is parsed strictly at start-up, so a typo fails loudly instead of silently
falling back to a default.
"""

from __future__ import annotations

import math
import os
import secrets
import string
from collections import Counter
from pathlib import Path

from trace_service.files import create_private_once

ENVIRONMENTS = ("development", "testing", "production")

#: How to make a production secret (quoted in errors and in README.md).
GENERATE_SECRET = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
#: A production secret must hold at least this many bits of randomness: 32 random bytes.
SECRET_MIN_BITS = 256
_HEX = frozenset(string.hexdigits)
_BASE64 = frozenset(string.ascii_letters + string.digits + "+/-_")
#: Words of sample configurations and tutorials: a secret containing one was typed, not
#: drawn (a random base64 string of 43 characters contains a given one of these with a
#: chance of about 1 in 30 million or less).
_PLACEHOLDERS = ("changeme", "change-me", "change_me", "secret", "password", "example",
                 "placeholder", "default", "insecure")


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the service refuses to start."""


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true"):
        return True
    if raw.lower() in ("0", "false"):
        return False
    raise ConfigError(f"{name} must be true/false or 1/0, got {raw!r}")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _env_secret(name: str) -> str | None:
    """Read NAME, or the contents of the file NAME_FILE points to (for container secrets)."""
    if os.environ.get(name):
        return os.environ[name]
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return None


def load_settings(instance_path: str, overrides: dict | None = None) -> dict:
    """Build the settings mapping for create_app().

    ``overrides`` (used by tests and the CLI) wins over the environment.
    """
    overrides = dict(overrides or {})
    env = overrides.get("ENV") or os.environ.get("TRACE_ENV", "development")
    if env not in ENVIRONMENTS:
        raise ConfigError(f"TRACE_ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
    default_db = "sqlite:///" + os.path.join(instance_path, "trace.sqlite3")
    settings = {
        "ENV": env,
        "DATABASE_URL": os.environ.get("TRACE_DATABASE_URL", default_db),
        "SECRET_KEY": _env_secret("TRACE_SECRET_KEY"),
        # Request bodies above this size are refused with 413 before they are parsed.
        "MAX_CONTENT_LENGTH": _env_int("TRACE_MAX_CONTENT_LENGTH", 1024 * 1024),
        # Lists never return more than this many items a page.
        "PAGE_SIZE_MAX": _env_int("TRACE_PAGE_SIZE_MAX", 200),
        # Time zone assumed for events that arrive without an offset (China Standard Time).
        "DEFAULT_TZ_OFFSET": os.environ.get("TRACE_DEFAULT_TZ_OFFSET", "+08:00"),
        # Base of GS1 Digital Link URIs printed on labels and shown to consumers.
        "PUBLIC_BASE_URL": os.environ.get("TRACE_PUBLIC_BASE_URL", "http://127.0.0.1:8000"),
        "SQL_ECHO": _env_bool("TRACE_SQL_ECHO", False),
    }
    settings.update(overrides)
    if settings["ENV"] == "production":
        problem = secret_problem(settings["SECRET_KEY"])
        if problem:
            raise ConfigError(f"TRACE_SECRET_KEY {problem}; production needs at least 32 "
                              f"random bytes: generate a secret with {GENERATE_SECRET}")
    elif not settings["SECRET_KEY"]:
        settings["SECRET_KEY"] = _instance_secret(instance_path)
    return settings


def secret_problem(secret: str | bytes | None) -> str | None:
    """Why ``secret`` cannot sign production cookies and tokens, or None if it can.

    The secret signs the console's session cookies and the public pages' CSRF and check
    tokens, and keys the rate limiter's hashes: whoever guesses it forges them all. Its
    randomness is estimated from its length and alphabet (hex digits carry 4 bits each,
    base64 characters 6, other characters about 6.5), which is exact for a secret made by
    ``secrets.token_urlsafe`` or ``token_hex`` and generous for one typed by a person; so
    typed secrets are also refused when they are visibly not random: few distinct
    characters, a repeated pattern, a run of neighbouring characters (``abcdef``,
    ``123456``), or a placeholder word."""
    if not secret:
        return "is not set (set it, or TRACE_SECRET_KEY_FILE to a file holding it)"
    text = secret.decode("latin-1") if isinstance(secret, bytes) else secret
    body = text.rstrip("=") if set(text.rstrip("=")) <= _BASE64 else text
    chars = set(body)
    per_char = 4.0 if chars <= _HEX else 6.0 if chars <= _BASE64 else math.log2(94)
    if any(not " " <= c <= "~" for c in chars):  # raw bytes, or beyond ASCII
        per_char = 8.0
    bits = int(len(body) * per_char)
    if bits < SECRET_MIN_BITS:
        return (f"is too short: {len(text)} characters hold at most {bits} bits of "
                f"randomness")
    counts = Counter(body)
    entropy = -sum(n / len(body) * math.log2(n / len(body)) for n in counts.values())
    if entropy < 3.0:
        return "is not random: it repeats a few characters"
    if any(body == (body[:p] * (len(body) // p + 1))[:len(body)]
           for p in range(1, len(body) // 2 + 1)):
        return "is not random: it repeats a pattern"
    steps = sum(1 for a, b in zip(body, body[1:]) if abs(ord(a) - ord(b)) <= 1)
    if steps * 2 > len(body) - 1:
        return "is not random: it is a run of neighbouring characters"
    lowered = body.lower()
    if any(word in lowered for word in _PLACEHOLDERS):
        return "is not random: it contains a placeholder word"
    return None


def _instance_secret(instance_path: str) -> str:
    """A development secret kept in the instance folder (mode 0600), made on first use."""
    path = Path(instance_path) / "secret_key"
    secret = create_private_once(path, lambda: secrets.token_urlsafe(48).encode())
    return secret.decode().strip()
