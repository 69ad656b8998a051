"""slipway project tooling: the offline engine and the plan (not imported by components)."""

from ._lib import install as _install_aliases

_install_aliases()
