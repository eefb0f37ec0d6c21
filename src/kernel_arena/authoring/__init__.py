"""Authoring tools: solution folders (pack/unpack), scaffolding (new) and static checks."""
