"""Order exports: CSV files of the order listing, written by a worker with bounded memory."""
