"""Readers, one module per source family. `registry.all_readers()` lists them in detection order."""

from __future__ import annotations

from rmmhunt.readers.base import InputFile, Reader, ReadOptions, ReadStats

__all__ = ["InputFile", "ReadOptions", "ReadStats", "Reader"]
