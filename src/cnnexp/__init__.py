"""cnnexp: run and check the claims of a lecture on convolutional neural networks."""

__version__ = "0.1.0"
