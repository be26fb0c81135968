"""Locale formats Django does not ship: Kazakh dates and numbers (see FORMAT_MODULE_PATH)."""
