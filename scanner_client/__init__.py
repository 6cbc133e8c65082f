"""trace scanner client: reads barcodes at logistics points, parses them locally.

Installable on its own (``pip install ./scanner_client``); it never imports the
trace service.  Modules:

* :mod:`scanner_client.decode` -- barcodes from image files (pyzbar + zxing-cpp)
* :mod:`scanner_client.codes` -- decoded text -> trace identifiers (biip)
* :mod:`scanner_client.cli` -- the ``trace-scan`` command (subcommands in
  :mod:`scanner_client.commands`), exit codes in :mod:`scanner_client.exitcodes`
"""

__version__ = "0.1.0"
