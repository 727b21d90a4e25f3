"""Training and evaluation: torch and Lightning, imported by the commands only after validation.

METRICS is torch-free (config validation reads it): the keys of metrics.json that cnnexp-train and
cnnexp-eval write, with what each means; the invariance suite adds cnnexp.invariance.measures.SUMMARY_METRICS.
"""

METRICS = {
    "test/acc": "accuracy on the official test set, of the checkpoint validation chose",
    "test/loss": "mean cross-entropy on the official test set, same checkpoint",
    "val/acc_best": "validation accuracy of the chosen checkpoint (the per-epoch series is val/acc)",
    "params/total": "parameters of the network",
    "params/trainable": "trainable parameters of the network",
    "time/fit_s": "seconds spent in Lightning's fit",
    "throughput/train_img_s": "training images per second over the training epochs",
    "epochs": "epochs trained",
}
# What a sweeper may optimize: validation and cost, never a number measured on the official test set.
SELECTABLE = ("val/acc_best", "params/total", "params/trainable", "time/fit_s", "throughput/train_img_s")
