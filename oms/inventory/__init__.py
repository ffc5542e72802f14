"""Stock reservation and its release; the only code that moves ``reserved_count``."""
