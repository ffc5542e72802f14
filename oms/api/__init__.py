"""The ``/api/v1`` blueprints: parse the request, call a service, dump a schema."""
