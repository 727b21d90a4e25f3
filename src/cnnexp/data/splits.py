"""Seeded index splits: validation held out from the official train set, class-balanced subsets."""

from __future__ import annotations

import torch

from cnnexp.errors import ConfigError


def _perm(n: int, seed: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))


def holdout(n: int, val_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train indices, validation indices), disjoint, together all of range(n)."""
    if not 0 <= val_size < n:
        raise ConfigError(f"data.val_size={val_size}: must be in [0, {n})")
    perm = _perm(n, seed)
    return perm[val_size:].sort().values, perm[:val_size].sort().values


def balanced_subset(labels: torch.Tensor, size: int, num_classes: int, seed: int) -> torch.Tensor:
    """Positions (into `labels`) of `size` examples, as equal a number per class as possible."""
    counts = torch.bincount(labels, minlength=num_classes)
    if size > len(labels):
        raise ConfigError(f"data.train_size={size}: larger than the {len(labels)} training examples")
    per_class = [size // num_classes + (1 if c < size % num_classes else 0) for c in range(num_classes)]
    short = [c for c in range(num_classes) if per_class[c] > counts[c]]
    if short:
        most = num_classes * int(counts.min())  # the largest subset with every class equally present
        raise ConfigError(f"data.train_size={size}: a class-balanced subset needs {per_class[short[0]]} images "
                          f"of class {short[0]}, which has {int(counts[short[0]])} after the validation hold-out; "
                          f"{most} fits, or null for every image")
    g = torch.Generator().manual_seed(seed)
    picks = []
    for c in range(num_classes):
        members = (labels == c).nonzero().flatten()
        picks.append(members[torch.randperm(len(members), generator=g)[: per_class[c]]])
    return torch.cat(picks).sort().values
