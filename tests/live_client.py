"""A stand-in for Flask's test client that talks to a real server over HTTP.

``tests.world.build_world`` and ``tests.helpers.Caller`` take either: with this one every
request goes through a socket to a server (``tests.live.serving``), so a test of who may
write and read what sees exactly what another party's program would.
"""

from __future__ import annotations

import requests


class LiveResponse:
    def __init__(self, response: requests.Response):
        self._response = response
        self.status_code = response.status_code
        self.data = response.content
        self.headers = response.headers
        self.mimetype = (response.headers.get("Content-Type") or "").split(";")[0]

    def get_json(self):
        try:
            return self._response.json()
        except ValueError:
            return None

    def get_data(self, as_text: bool = False):
        return self._response.text if as_text else self.data


class LiveClient:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()

    def _call(self, method, path, *, json=None, query_string=None, headers=None, data=None):
        return LiveResponse(self.http.request(method, self.base_url + path, json=json,
                                              params=query_string, headers=headers, data=data,
                                              timeout=30))

    def get(self, path, query_string=None, headers=None):
        return self._call("GET", path, query_string=query_string, headers=headers)

    def post(self, path, json=None, headers=None, data=None):
        return self._call("POST", path, json=json, headers=headers, data=data)

    def patch(self, path, json=None, headers=None):
        return self._call("PATCH", path, json=json, headers=headers)

    def close(self):
        self.http.close()
