"""Measuring how a trained classifier reacts to shifts, rotations, scaling and adversarial noise."""
