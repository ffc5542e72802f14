"""Browser pages without a browser: route guard, error pages, assets, the analytics API."""
