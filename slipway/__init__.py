"""slipway project tooling: the offline engine, the plan and its views (not imported by the components)."""
