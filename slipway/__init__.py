"""slipway project tooling: the offline engine and the plan (not imported by components)."""
