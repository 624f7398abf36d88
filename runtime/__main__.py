"""`python -m runtime <rasa arguments>`: Rasa's command line with runtime/patches.py's list
applied (a worker process per core, connections guarded, per-message fixes). They change the
internals of the versions they were checked against and refuse to start on others;
ASSISTANT_PATCHES=off runs Rasa as shipped."""
import atexit
import os
import shutil
import tempfile
from pathlib import Path

MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"  # runtime/metrics.py


def prepare_metrics_directory() -> None:
    """Before prometheus-client is imported, in the process that forks the workers: the
    directory they count in (runtime/metrics.py), emptied, since counts of an earlier run would
    add up. Without PROMETHEUS_MULTIPROC_DIR, a fresh temporary one, removed at exit."""
    path = os.environ.get(MULTIPROCESS_DIRECTORY)
    if path:
        Path(path).mkdir(parents=True, exist_ok=True)
        for stale in Path(path).glob("*.db"):
            stale.unlink()
        return
    path = tempfile.mkdtemp(prefix="assistant-metrics-")
    os.environ[MULTIPROCESS_DIRECTORY] = path
    owner = os.getpid()  # the workers are forked: only this process removes it
    atexit.register(lambda: os.getpid() == owner and shutil.rmtree(path, ignore_errors=True))


if __name__ == "__main__":
    prepare_metrics_directory()
    # A worker per core: OpenBLAS's own threads (numpy's, under pipeline/encoder.py's sentence
    # encoder) would only contend with the other workers for the cores. Before numpy's import.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from rasa.__main__ import main

    from runtime import guard, patches

    if guard.enabled():
        patches.apply()
    main()
