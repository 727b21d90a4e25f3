"""Writing to TensorBoard beyond what Lightning's logger does."""
