"""Benchmarks of shimdeck's engine against the bare OCI runtimes (runc, crun) and containerd.

``python -m bench`` runs them all (``--quick`` for a short run) and writes
docs/benchmarks.md; each one also runs alone, ``python -m bench.lifecycle`` and so on.
Results go to ``bench/results/`` as JSON. See docs/benchmarks.md.
"""
