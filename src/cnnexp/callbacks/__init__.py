"""Lightning callbacks of cnnexp (selected in `conf/callbacks/`)."""
