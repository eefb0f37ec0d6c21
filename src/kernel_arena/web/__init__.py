"""The local web viewer: a read-only HTTP server over a dataset or run folder (``serve``)."""
