"""Benchmarks of shimdeck's engine against the bare OCI runtimes (runc, crun).

``python -m bench`` runs them all (``--quick`` for a short run); each one also runs alone,
``python -m bench.lifecycle`` and so on. Results go to ``bench/results/`` as JSON.
See docs/benchmarks-engine.md.
"""
