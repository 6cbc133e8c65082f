"""Settings of ``trace-scan``: a TOML file, then the environment (the environment wins).

The file is ``--config FILE`` or, by default, ``$TRACE_SCAN_HOME/config.toml`` (a
missing default file is fine; a missing ``--config`` file is an error)::

    server = "https://trace.example.com"     # the trace service
    key_file = "/etc/trace-scan/device.key"  # or: key = "trk_..." (keep the file 0600)
    step = "arrive"                          # default for `trace-scan scan`
    staff = "W042"                           # staff number sent with each scan
    home = "/var/lib/trace-scan"             # where the queue lives

    [upload]
    batch_size = 200        # scans per request (also capped by the server's max_batch)
    every = 5               # seconds between background uploads in `trace-scan scan`
    timeout = 60            # seconds to wait for a response
    connect_timeout = 5     # seconds to wait for a connection
    backoff_base = 0.5      # first retry waits up to this long (full jitter) ...
    backoff_cap = 30        # ... doubling per failure, never more than this
    deadline = 120          # `trace-scan upload` stops retrying after this many seconds
    max_attempts = 0        # consecutive failed attempts before giving up (0: no limit)

Environment: ``TRACE_SCAN_SERVER``, ``TRACE_SCAN_KEY`` (or ``TRACE_SCAN_KEY_FILE``),
``TRACE_SCAN_STEP``, ``TRACE_SCAN_STAFF``, ``TRACE_SCAN_HOME`` (default
``~/.local/share/trace-scan``).  Command-line options of a subcommand win over both.

Parsing is strict: an unknown setting, a value of the wrong type or out of range is a
:class:`ConfigError` naming the file or variable (exit code ``CONFIG_ERROR``).  The
device key is never printed, logged or shown in ``repr``.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

STEPS = ("arrive", "depart", "dispatch", "receipt")
DEFAULT_HOME = "~/.local/share/trace-scan"
QUEUE_FILE = "queue.sqlite3"
ENV = {
    "server": "TRACE_SCAN_SERVER", "key": "TRACE_SCAN_KEY", "key_file": "TRACE_SCAN_KEY_FILE",
    "step": "TRACE_SCAN_STEP", "staff": "TRACE_SCAN_STAFF", "home": "TRACE_SCAN_HOME",
}


class ConfigError(Exception):
    """The configuration is missing or wrong; the message says where and how to fix it."""


@dataclass
class UploadSettings:
    """The ``[upload]`` table: batching, timeouts and retry policy."""

    batch_size: int = 200
    every: float = 5.0
    timeout: float = 60.0
    connect_timeout: float = 5.0
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    deadline: float = 120.0
    max_attempts: int = 0


# setting -> (type, minimum); floats accept TOML integers too
_UPLOAD_RULES = {
    "batch_size": (int, 1), "every": (float, 0.05), "timeout": (float, 0.1),
    "connect_timeout": (float, 0.1), "backoff_base": (float, 0.0), "backoff_cap": (float, 0.0),
    "deadline": (float, 0.0), "max_attempts": (int, 0),
}


@dataclass
class Settings:
    """Resolved settings; ``key`` is kept out of ``repr``."""

    home: Path
    server: str | None = None
    key: str | None = field(default=None, repr=False)
    step: str | None = None
    staff: str | None = None
    upload: UploadSettings = field(default_factory=UploadSettings)
    source: str = "defaults"

    @property
    def queue_path(self) -> Path:
        return self.home / QUEUE_FILE

    def require_server(self) -> tuple[str, str]:
        """(server, key), or a :class:`ConfigError` saying how to set the missing one."""
        if not self.server:
            raise ConfigError("no server URL: set TRACE_SCAN_SERVER or 'server = ...' in "
                              f"the config file ({self.source})")
        if not self.key:
            raise ConfigError("no device key: set TRACE_SCAN_KEY or TRACE_SCAN_KEY_FILE, or "
                              f"'key_file = ...' in the config file ({self.source})")
        return self.server, self.key


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--config`` option every queue/server subcommand takes."""
    parser.add_argument("--config", metavar="FILE", default=None,
                        help="settings file (default: $TRACE_SCAN_HOME/config.toml)")


def check_server(url: str, where: str) -> str:
    """A server URL: http(s)://host[:port][/prefix], returned without a trailing slash."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{where}: server must be an http:// or https:// URL, got {url!r}")
    if parts.query or parts.fragment:
        raise ConfigError(f"{where}: server URL must not have a query or fragment")
    return url.strip().rstrip("/")


def check_step(step: str, where: str) -> str:
    if step not in STEPS:
        raise ConfigError(f"{where}: step must be one of {', '.join(STEPS)}, got {step!r}")
    return step


def check_staff(staff: str, where: str) -> str:
    staff = staff.strip()
    if not 1 <= len(staff) <= 40 or not staff.isprintable():
        raise ConfigError(f"{where}: staff must be 1-40 printable characters")
    return staff


def _check_key(key: str, where: str) -> str:
    key = key.strip()
    if not key:
        raise ConfigError(f"{where}: the device key is empty")
    if any(c.isspace() for c in key) or not key.isprintable():
        raise ConfigError(f"{where}: the device key contains blanks or control characters")
    return key


def _read_key_file(path: str, where: str) -> str:
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read key file {path}: "
                          f"{getattr(exc, 'strerror', None) or exc}") from None
    return _check_key(text, f"{where} (key file {path})")


def _string(data: dict, name: str, where: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where}: '{name}' must be a string, got {type(value).__name__}")
    return value


def _upload_table(data: object, where: str) -> UploadSettings:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: [upload] must be a table")
    unknown = sorted(set(data) - set(_UPLOAD_RULES))
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) upload.{', upload.'.join(unknown)} "
                          f"(known: {', '.join(_UPLOAD_RULES)})")
    out = UploadSettings()
    for name, value in data.items():
        kind, minimum = _UPLOAD_RULES[name]
        ok = isinstance(value, int) if kind is int else isinstance(value, (int, float))
        if not ok or isinstance(value, bool) or value < minimum:
            what = "an integer" if kind is int else "a number"
            raise ConfigError(f"{where}: upload.{name} must be {what} >= {minimum}, "
                              f"got {value!r}")
        setattr(out, name, kind(value))
    return out


_TOP = ("server", "key", "key_file", "step", "staff", "home", "upload")


def _read_file(path: Path, where: str) -> dict:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {where}: {exc.strerror or exc}") from None
    unknown = sorted(set(data) - set(_TOP))
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(unknown)} "
                          f"(known: {', '.join(_TOP)})")
    return data


def load(config_file: str | None = None, environ: dict | None = None) -> Settings:
    """Resolve the settings from ``config_file`` (or the default file) and ``environ``."""
    env = os.environ if environ is None else environ
    env_home = env.get(ENV["home"]) or None
    default_home = Path(env_home or DEFAULT_HOME).expanduser()
    if config_file is not None:
        path, required = Path(config_file).expanduser(), True
    else:
        path, required = default_home / "config.toml", False
    data: dict = {}
    source = "no config file"
    if path.exists() or required:
        source = str(path)
        data = _read_file(path, source)
    where = source
    home = env_home or _string(data, "home", where) or DEFAULT_HOME
    settings = Settings(home=Path(home).expanduser(), source=source)
    if "upload" in data:
        settings.upload = _upload_table(data["upload"], where)

    for name in ("server", "step", "staff"):
        value, origin = env.get(ENV[name]) or None, ENV[name]
        if value is None:
            value, origin = _string(data, name, where), where
        if value is None:
            continue
        check = {"server": check_server, "step": check_step, "staff": check_staff}[name]
        setattr(settings, name, check(value, origin))

    if env.get(ENV["key"]):
        settings.key = _check_key(env[ENV["key"]], ENV["key"])
    elif env.get(ENV["key_file"]):
        settings.key = _read_key_file(env[ENV["key_file"]], ENV["key_file"])
    elif _string(data, "key", where):
        settings.key = _check_key(data["key"], where)
    elif _string(data, "key_file", where):
        settings.key = _read_key_file(data["key_file"], where)
    return settings


def override_upload(settings: Settings, args: argparse.Namespace) -> None:
    """Apply command-line options named like ``[upload]`` settings (None: not given)."""
    for f in fields(UploadSettings):
        value = getattr(args, f.name, None)
        if value is not None:
            kind, minimum = _UPLOAD_RULES[f.name]
            if value < minimum:
                raise ConfigError(f"--{f.name.replace('_', '-')} must be >= {minimum}")
            setattr(settings.upload, f.name, kind(value))
