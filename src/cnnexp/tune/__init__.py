"""cnnexp-tune's engine: settings and search space (torch-free, checked first), the study in its storage,
the workers that share it, each trial a cnnexp-train job; optuna does the sampling and pruning."""
