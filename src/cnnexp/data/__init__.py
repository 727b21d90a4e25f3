"""Getting, verifying and serving the image datasets (held in memory as tensors)."""
