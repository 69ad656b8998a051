import sys

from .plan import cli

sys.exit(cli())
