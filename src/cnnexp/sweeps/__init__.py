"""Sweeps before and after they run: the points that fail validation, the job count (torch-free)."""
