"""Hunts as data: Markdown hunt files with metadata, and the XQL rendered from the catalog."""
