"""Labels: QR codes with GS1 Digital Links, GS1 DataMatrix, GS1-128, EAN-13 and Code 128,
as PNG or SVG, and printable A4 sheets (PDF or PNG) for a lot or a serial range.

``symbols`` draws, ``content`` decides what a label carries, ``sheets`` lays out pages,
``services`` checks what the caller may print, ``routes`` (``/api/v1/labels``) and ``cli``
(``trace-service labels``) expose it.
"""
