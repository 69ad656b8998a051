"""slipway's policy pack: ``rules`` holds the baselines as plain functions (shared with the offline plan);
``__main__`` wraps them for ``pulumi preview --policy-pack policy``."""
