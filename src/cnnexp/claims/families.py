"""The claims catalogue: importing each family's module registers its claims (one module per family)."""

from cnnexp.claims import (  # noqa: F401  (each registers its claims on import)
    adversarial,
    backprop,
    connectivity,
    correlation,
    distributions,
    layer_profile,
    output_size,
    parameters,
    pooling_loss,
    receptive_field,
    remedies,
    rotation_scale,
    translation,
)
from cnnexp.claims.registry import CLAIMS, Claim


def all_claims() -> dict[str, Claim]:
    """Every claim of the families above, sorted by id."""
    return dict(sorted(CLAIMS.items()))
