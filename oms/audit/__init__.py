"""The append-only audit log: who changed what, when, before and after (products, customers,
users) and every login attempt."""
