"""The security settings pages at /account: methods, trusted browsers, recovery codes, password."""
