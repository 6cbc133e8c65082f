import sys

from tlog_witness.cli import main

sys.exit(main())
