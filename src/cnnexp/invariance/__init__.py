"""Measuring how a trained classifier reacts to shifts, rotations, scaling and adversarial noise.

The constants below and the suite's table (measures.py) are torch-free, so that config validation reads them
before torch loads.
"""

# The version of invariance.json's layout: trainings cached by cnnexp-claims under an older one are redone.
SCHEMA = 3
SHIFT_MODES = ("zero", "circular")  # what fills the pixels a shift vacates: background, or what left
# A curve's grid: its values are rounded to 6 decimals (measures.grid), and each costs a pass over the images.
MAX_POINTS, MIN_STEP = 1000, 1e-6
CANVASES = ("image", "input")  # shift the image at the dataset's size, or the padded network input
QUARTER_TURNS = (1, 2, 3)  # torch.rot90's k: the exact turns by 90, 180 and 270 degrees
