"""Browser tests: Playwright drives Debian's Chromium against a real web server and worker."""
