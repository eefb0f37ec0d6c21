"""The local web viewer: a read-only HTTP server over a dataset or run folder (``serve``).

- ``server.py``: routes, JSON encoding and errors; ``host_check.py``: which ``Host`` headers are
  answered (DNS rebinding).
- ``live.py``: the viewed folder kept current (appended trace lines read alone); ``index.py``: its
  traces indexed once per definition, derived pages cached per change; ``runs.py``: the runs the
  compare page offers.
- ``api.py``: the JSON answers; ``static/``: the page (hash routes, no external requests).
"""
