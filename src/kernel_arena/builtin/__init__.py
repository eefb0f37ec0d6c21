"""The embedded default dataset (package data under ``dataset/``) and the generator that
writes it from ``references/`` and ``generate.py``."""
