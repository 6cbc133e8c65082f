"""Test helpers: an HTTP client bound to an API key, and valid identifiers."""

from __future__ import annotations

from dataclasses import dataclass, field

from trace_service.identifiers import gs1_check_digit

CREDIT_CODES = [
    "91350100M000100Y43", "91330100MA27Q8XX14", "91330106MA2B0LBX0Q", "91310000MA1FL4TD9G",
    "91110105MA01CKJE72", "91330000MA28F3DX46", "91440300MA5G2R8K12", "91310115MA1K4QWX2J",
]


def gtin13(body12: str) -> str:
    return body12 + gs1_check_digit(body12)


def sscc(serial: int, prefix: str = "06901234") -> str:
    body = f"{prefix}{serial:0{17 - len(prefix)}d}"
    return body + gs1_check_digit(body)


class Caller:
    """Calls the API with one key, like a real client would."""

    def __init__(self, client, key: str | None):
        self.client = client
        self.key = key

    def _headers(self, extra=None):
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        headers.update(extra or {})
        return headers

    def get(self, path, **params):
        return self.client.get(path, query_string=params, headers=self._headers())

    def post(self, path, json=None, **kw):
        return self.client.post(path, json=json, headers=self._headers(kw.pop("headers", None)),
                                **kw)

    def patch(self, path, json=None):
        return self.client.patch(path, json=json, headers=self._headers())

    def ok(self, method: str, path: str, json=None, status: int | None = None, **params):
        """Call and assert success; return the JSON body."""
        if method == "GET":
            response = self.get(path, **params)
        elif method == "PATCH":
            response = self.patch(path, json)
        else:
            response = self.post(path, json)
        expected = status or (201 if method == "POST" else 200)
        assert response.status_code == expected, (response.status_code, response.get_json())
        return response.get_json()


@dataclass
class World:
    """A small world: parties with licences, three points with devices, keys per role."""

    admin: Caller
    merchant: Caller
    pharmacy: Caller
    carrier: Caller
    device: Caller
    device_b: Caller
    inspector: Caller
    ids: dict = field(default_factory=dict)
    #: The brand owners and makers (holders of the GS1 company prefixes of MILK and DRUG).
    dairy: Caller | None = None
    pharma: Caller | None = None


def error_of(response) -> dict:
    body = response.get_json()
    assert body is not None and "error" in body, (response.status_code, response.data[:300])
    return body["error"]
