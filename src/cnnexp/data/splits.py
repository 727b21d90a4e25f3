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


def per_class_counts(available: list[int], size: int) -> list[int]:
    """How many of each class a subset of `size` takes: `size` split equally (the first classes take one
    more of the remainder); when a class has fewer, all of it, and the others share what it lacks."""
    k = len(available)
    take = [size // k + (1 if c < size % k else 0) for c in range(k)]
    if all(t <= a for t, a in zip(take, available)):
        return take
    take, left = [0] * k, size
    for i, c in enumerate(sorted(range(k), key=lambda c: available[c])):  # the scarcest class first
        take[c] = min(available[c], left // (k - i))
        left -= take[c]
    while left:  # what the floors left over, one each to classes that still have images
        for c in range(k):
            if left and take[c] < available[c]:
                take[c] += 1
                left -= 1
    return take


def balanced_subset(labels: torch.Tensor, size: int, num_classes: int, seed: int) -> torch.Tensor:
    """Positions (into `labels`) of `size` examples, as equal a number per class as the classes allow."""
    if size > len(labels):
        raise ConfigError(f"data.train_size={size}: larger than the {len(labels)} training examples")
    per_class = per_class_counts(torch.bincount(labels, minlength=num_classes).tolist(), size)
    g = torch.Generator().manual_seed(seed)
    picks = []
    for c in range(num_classes):
        members = (labels == c).nonzero().flatten()
        picks.append(members[torch.randperm(len(members), generator=g)[: per_class[c]]])
    return torch.cat(picks).sort().values
