"""``python -m bot_engine lint|try|replay``: see ``bot_engine.cli``."""

import sys

from bot_engine.cli import main

sys.exit(main())
