"""The benchmarks: ``python -m bench.run`` (``make bench``); docs/performance.md."""
