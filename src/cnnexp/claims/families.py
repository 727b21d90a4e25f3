"""Importing this module registers every claim (one module per family)."""

from cnnexp.claims import (  # noqa: F401
                           adversarial,
                           backprop,
                           connectivity,
                           correlation,
                           distributions,
                           output_size,
                           parameters,
                           pooling_loss,
                           receptive_field,
                           remedies,
                           rotation_scale,
                           translation,
)
