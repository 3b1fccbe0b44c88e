"""Benchmarks of shimdeck against the bare OCI runtimes (runc, crun) and containerd:
``python -m bench``, or one as ``python -m bench.<name>``; docs/benchmarks.md tells all."""
