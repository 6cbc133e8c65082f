"""trace scanner client: reads barcodes at logistics points, parses them locally.

Installable on its own (``pip install ./scanner_client``); it never imports the
trace service.  Modules:

* :mod:`scanner_client.decode` -- barcodes from image files (pyzbar + zxing-cpp)
* :mod:`scanner_client.codes` -- decoded text -> trace identifiers (biip)
* :mod:`scanner_client.cli` -- the ``trace-scan`` command (subcommands in
  :mod:`scanner_client.commands`), exit codes in :mod:`scanner_client.exitcodes`
* :mod:`scanner_client.config` -- settings from a TOML file and ``TRACE_SCAN_*``
* :mod:`scanner_client.queue` -- the durable local queue (SQLite WAL), UUIDv7 ids,
  dead letters, the local block list; :mod:`scanner_client.salvage` -- ``repair``
* :mod:`scanner_client.station` -- one scan: parse, queue, feedback; background uploads
* :mod:`scanner_client.api` / :mod:`scanner_client.upload` -- HTTP calls; batches,
  retries with backoff, how each server reply is handled
"""

__version__ = "0.1.0"
