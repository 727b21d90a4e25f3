"""Measuring how a trained classifier reacts to shifts, rotations, scaling and adversarial noise.

The names below are torch-free so that config validation can read them before torch loads.
"""

# The transform families of the suite (cnnexp.invariance.transforms.TRANSFORMS), and its curves.
FAMILIES = ("shift_x", "shift_y", "rotate", "scale")
CURVES = (*FAMILIES, "fgsm")
# The keys the suite adds to metrics.json (measured on official test images: they report, never select).
SUMMARY_METRICS = (*(f"inv/{c}_auc" for c in CURVES), *(f"inv/{f}_worst_acc" for f in FAMILIES),
                   "inv/shift_consistency", "inv/p_top1_change_1px", "inv/suite_s")
