"""The commands' entry points: torch-free, so a bad command line is refused in about a second. Each one
composes and checks its config, then imports its heavy module once, after validation."""
