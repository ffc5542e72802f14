"""Analytics for the admin dashboard: SQL aggregates over orders, lines and stock."""
