"""Users, passwords, tokens and the one role check."""
