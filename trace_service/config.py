"""Settings: defaults, then the instance folder's config.py, then TRACE_* environment variables.

Every setting is parsed strictly at start-up, so a typo fails loudly instead of silently
falling back to a default.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ENVIRONMENTS = ("development", "testing", "production")


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
    if not settings["SECRET_KEY"]:
        if settings["ENV"] == "production":
            raise ConfigError("TRACE_SECRET_KEY (or TRACE_SECRET_KEY_FILE) must be set in production")
        settings["SECRET_KEY"] = _instance_secret(instance_path)
    return settings


def _instance_secret(instance_path: str) -> str:
    """A development secret kept in the instance folder, made on first use."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
