"""`python -m orchestrator`: the same entry point as the `bluegreen` command."""

import sys

from orchestrator.entry import main

sys.exit(main())
