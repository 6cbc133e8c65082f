"""A test's app behind a real HTTP server (werkzeug, in a thread of the test process).

For the tests of abuse through the network: requests go through a socket with the headers,
cookies and raw request targets a browser or a script would send, and the app sees them as
it would behind gunicorn (``REMOTE_ADDR``, ``RAW_URI``).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

from werkzeug.serving import make_server


@contextmanager
def serving(app):
    """Serve ``app`` on a free port of 127.0.0.1; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
