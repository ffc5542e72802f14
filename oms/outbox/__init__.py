"""Transactional outbox: background work is written in the transaction that causes it, and
handed to the broker only after that transaction commits."""
