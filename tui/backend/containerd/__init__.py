"""The containerd backend's foundation: a gRPC client of containerd's v1 API (no Textual),
its IO (pkg/cio's log files and FIFOs), and :class:`.backend.ContainerdBackend` on today's
seam. See docs/design.md, "containerd client"."""
