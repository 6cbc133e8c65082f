"""Running the app under gunicorn from Python (``trace-service serve``)."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, app, options):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.application


def run(app, *, host: str, port: int, workers: int, threads: int) -> None:
    # The app is built before forking; each worker must open its own connections.
    app.extensions["trace_db"].dispose()
    _Gunicorn(app, {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "accesslog": "-",
        # No client address in the log: IP addresses are personal data.
        "access_log_format": '"%(r)s" %(s)s %(b)s %(L)ss',
        "graceful_timeout": 10,
        "timeout": 60,
    }).run()
