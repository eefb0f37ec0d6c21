"""Trusted one-call primitives: inputs, the reference (and its cache), comparison, timing methods.

Nothing here knows about runs, jobs or processes; the engine composes these pieces.
"""
