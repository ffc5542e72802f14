"""Exports: queued CSV exports, the direct stream, recovery from lost workers."""
