"""Web edge: templates, static files, catalogues, CSRF, security headers."""
