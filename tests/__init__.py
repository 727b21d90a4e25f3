"""The test suite. Imported before conftest and every test module, in the main process and in each xdist worker.

The suite runs two workers and their commands' subprocesses on this machine's two cores, so torch's OpenMP
threads mostly wait for a core. libgomp's default lets a waiting thread spin, burning the core another process
needs, and a second thread per process only adds the cost of splitting small convolutions (benchmarks/README.md,
"The test suite"). Set here, before any import loads torch and with it libgomp; the subprocesses inherit it. A
job that sets its own threads (joblib, tune and claims workers, DDP) still does.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "1")
