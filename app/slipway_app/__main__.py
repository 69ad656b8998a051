"""``python -m slipway_app`` is the ``app`` command."""

import sys

from .cli import main

sys.exit(main())
