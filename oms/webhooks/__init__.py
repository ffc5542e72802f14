"""Webhooks: admins register HTTPS endpoints; every catalogued event they subscribe to is
signed and POSTed to them from the ``webhooks`` queue, retried, logged and replayable."""
