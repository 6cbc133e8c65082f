"""Identifiers for trace: GS1 keys, element strings, Digital Link, drug and credit codes.

Pure Python (no Flask, no SQLAlchemy), built on ``biip``. Every rejection is an
:class:`IdentifierError` with a stable ``code``, a one-sentence ``message`` and JSON-ready
``details``; nothing is returned half-parsed.

Modules: ``errors`` (the exception), ``gs1`` (GTIN/SSCC/GLN and check digits), ``ai``
(per-AI validation), ``element_strings`` (scanner data), ``gs1_data`` (the result type),
``digital_link`` (GS1 Digital Link URIs), ``drug_code`` (20-digit 药品追溯码),
``credit_code`` (统一社会信用代码), ``scan`` (``parse_scan`` dispatcher) and
``trace_keys`` (canonical database keys and ``parse_trace_key``).
"""

from .credit_code import parse_credit_code
from .digital_link import parse_digital_link
from .digital_link_builder import build_digital_link
from .drug_code import DrugCode, parse_drug_code
from .element_strings import parse_element_string
from .errors import IdentifierError
from .gs1 import gs1_check_digit, normalize_gtin, validate_gln, validate_sscc
from .gs1_data import GS1Data
from .scan import parse_scan
from .trace_keys import (
    TraceKeyRef,
    drug_unit_key,
    lot_key,
    parse_trace_key,
    sscc_key,
    unit_key,
    waybill_key,
)

__all__ = [
    "DrugCode",
    "GS1Data",
    "IdentifierError",
    "TraceKeyRef",
    "build_digital_link",
    "drug_unit_key",
    "gs1_check_digit",
    "lot_key",
    "normalize_gtin",
    "parse_credit_code",
    "parse_digital_link",
    "parse_drug_code",
    "parse_element_string",
    "parse_scan",
    "parse_trace_key",
    "sscc_key",
    "unit_key",
    "validate_gln",
    "validate_sscc",
    "waybill_key",
]
