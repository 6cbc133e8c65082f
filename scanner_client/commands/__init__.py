"""Subcommands of ``trace-scan``.

Each subcommand lives in its own module here, which defines:

``NAME``
    the subcommand name on the command line;
``HELP``
    one line for ``trace-scan --help``;
``add_arguments(parser)``
    adds its options to the ``argparse`` sub-parser;
``run(args) -> int``
    does the work and returns an exit code from :mod:`scanner_client.exitcodes`.

To add a subcommand, write the module and add its module name to :data:`COMMANDS`;
``scanner_client.cli`` picks it up.  Optional: ``DESCRIPTION`` and ``EPILOG`` for
``--help``, ``ADD_HELP = False`` for a module that parses its own ``--help``.  Helpers
shared by the queue/server subcommands are in :mod:`scanner_client.commands._common`.
Keep heavy imports inside ``run`` so that ``trace-scan --help`` stays fast.
"""

COMMANDS = [
    "decode",
    "scan",
    "upload",
    "sync",
    "status",
    "repair",
    "verify",
    "trust",
]
