"""Browser pages rendered from ``templates/``."""
