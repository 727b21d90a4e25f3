"""Writing the IDX format of the MNIST files (torchvision reads them back)."""

from __future__ import annotations

import struct

import numpy as np

# IDX type code for unsigned bytes.
_UBYTE = 0x08


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array: magic (0, 0, type, ndim), big-endian dims, raw data."""
    if array.dtype != np.uint8:
        raise ValueError(f"IDX writer expects uint8, got {array.dtype}")
    header = struct.pack(">BBBB", 0, 0, _UBYTE, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array).tobytes()
