"""Customers: the people orders are for."""
