"""Measuring how a trained classifier reacts to shifts, rotations, scaling and adversarial noise.

The names below are torch-free so that config validation can read them before torch loads.
"""

# The transform families of the suite (cnnexp.invariance.transforms.TRANSFORMS), and its curves.
FAMILIES = ("shift_x", "shift_y", "rotate", "scale")
CURVES = (*FAMILIES, "fgsm")
# The version of invariance.json's layout: trainings cached by cnnexp-claims under an older one are redone.
SCHEMA = 3
SHIFT_MODES = ("zero", "circular")  # what fills the pixels a shift vacates: background, or what left
# A curve's grid: its values are rounded to 6 decimals (suite.grid), and each costs a pass over the images.
MAX_POINTS, MIN_STEP = 1000, 1e-6
CANVASES = ("image", "input")  # shift the image at the dataset's size, or the padded network input
# The suite's measures beside the curves (`invariance.measures`); one left out is not computed and its keys are
# absent: the claims leave out what no claim reads of an arm.
MEASURES = ("consistency", "circular_consistency", "circular_shifts", "quarter_turns", "equivariance")
# The keys the suite adds to metrics.json (measured on official test images: they report, never select).
# A family set to null in the config, or a measure left out, is not measured and its keys are absent.
SUMMARY_METRICS = (*(f"inv/{c}_auc" for c in CURVES), *(f"inv/{f}_worst_acc" for f in FAMILIES),
                   "inv/shift_consistency", "inv/circular_consistency", "inv/p_top1_change_1px",
                   "inv/quarter_turn_acc", "inv/quarter_turn_agreement", "inv/suite_s")

