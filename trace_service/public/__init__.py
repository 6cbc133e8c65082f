"""The consumer side: GS1 Digital Link resolver pages, counterfeit signals, report a problem.

Plain Flask routes outside ``/api/v1`` (no API key): ``/01/{gtin}[/10/{lot}][/21/{serial}]``,
``/00/{sscc}``, ``/waybill/{number}``, ``/drug/{code}``, ``/report``. See docs/consumer.md.
"""
