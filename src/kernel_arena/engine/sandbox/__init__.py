"""The untrusted side: a process per Solution that builds it, calls it and runs the timing loop."""
