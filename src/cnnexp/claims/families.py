"""Importing this module registers every claim (one module per family)."""

from cnnexp.claims import (adversarial, backprop, connectivity, correlation, distributions,  # noqa: F401
                           output_size, parameters, pooling_loss, receptive_field, rotation_scale, translation)
