"""The product catalogue and its stock counters."""
