"""The benchmark engine: inputs, build, reference, comparison, timing, workers, runner."""
