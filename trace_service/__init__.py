"""trace: product traceability with barcode scanning.

``create_app()`` builds the Flask service; see README.md for running it.
"""

from __future__ import annotations

import logging
import os

from flask import Flask

from trace_service.config import load_settings
from trace_service.db import Database


def create_app(config: dict | None = None, instance_path: str | None = None) -> Flask:
    """Build the app. ``config`` overrides settings (tests pass DATABASE_URL here)."""
    instance_path = instance_path or os.environ.get("TRACE_INSTANCE_PATH")
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(load_settings(app.instance_path, config))
    app.json.sort_keys = False
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    database = Database(app.config["DATABASE_URL"], echo=app.config["SQL_ECHO"])
    app.extensions["trace_db"] = database

    from trace_service import http, routes

    api = http.init_app(app)
    app.extensions["trace_api"] = api
    routes.register(api)
    __import__("trace_service.public.routes").public.routes.init_app(app)  # consumer pages

    return app
