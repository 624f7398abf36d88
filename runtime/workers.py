"""Rasa in several processes on one machine, each with a listening socket of its own.

Rasa serves every conversation from one process, on one core; `SANIC_WORKERS` (Rasa's own
setting) forks more, provided the lock store is shared between processes (stores/lock.py). This
runtime starts one worker per core, at most `MAX_DEFAULT_WORKERS`, when `SANIC_WORKERS` is unset.

Sanic 21.12 (Rasa 3.6's) forks its workers onto one shared listening socket, and an idle worker
accepts every connection waiting: the benchmark's 20 keep-alive connections all went to one
worker while the other idled. `serve_workers` replaces it: each worker listens on the same port
through a socket of its own (SO_REUSEPORT), and the kernel spreads new connections over them;
a second server on the same port is refused (`claim_port`). A worker never outlives the parent
(a parent killed with SIGKILL takes its workers along), and a worker that exits stops the
others: the server fails as a whole, for its supervisor to restart.

The parent loads the model before it forks, and the workers start with that copy: its pages,
and those of every module the parent imported, stay shared between the workers (copy on write),
as long as Python's garbage collector leaves them alone, hence `gc.freeze()` before the fork.
Not a model that runs TensorFlow (DIET, TED, ...): TensorFlow's thread pools, started while
loading it, do not survive a fork, and a worker's first prediction would wait forever. Each
worker loads such a model itself, as Rasa does.
"""
import asyncio
import ctypes
import functools
import gc
import inspect
import logging
import multiprocessing
import os
import signal
import socket
import sys
from multiprocessing.connection import wait
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Dict, List, Optional, Text, Tuple, Type

from rasa.constants import ENV_SANIC_WORKERS
from rasa.engine.storage.local_model_storage import LocalModelStorage
from sanic.server import runners

logger = logging.getLogger(__name__)

# Each worker adds the memory it writes to after the fork (about 35 MB here).
MAX_DEFAULT_WORKERS = 4
_PR_SET_PDEATHSIG = 1  # prctl(2)


def default_workers() -> int:
    """One worker per core this process may run on, at most MAX_DEFAULT_WORKERS; one where the
    system does not say which cores (only Linux has sched_getaffinity)."""
    if not hasattr(os, "sched_getaffinity"):
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), MAX_DEFAULT_WORKERS))


def configured_workers() -> int:
    """The number of workers asked for (Rasa falls back to one with an in-memory lock store)."""
    try:
        return max(1, int(os.environ.get(ENV_SANIC_WORKERS, "1")))
    except ValueError:
        return 1


def serve_workers(server_settings: Dict[str, Any], workers: int) -> None:
    """Sanic's `serve_multiple`, with a listening socket per worker."""
    server_settings.update(reuse_port=True, run_multiple=True, sock=None)
    main_start = server_settings.pop("main_start", None)
    main_stop = server_settings.pop("main_stop", None)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    runners.trigger_events(main_start, loop)

    gc.freeze()  # the collector would write to every object the workers share
    fork = multiprocessing.get_context("fork")
    processes = [fork.Process(target=_worker, args=(os.getpid(),), kwargs=server_settings,
                              daemon=True) for _ in range(workers)]

    def stop(signum: int = signal.SIGTERM, _frame: Any = None) -> None:
        for process in processes:
            if process.pid and process.exitcode is None:
                os.kill(process.pid, signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for process in processes:
        process.start()
    wait([process.sentinel for process in processes])
    stop()
    for process in processes:
        process.join()
    runners.trigger_events(main_stop, loop)
    loop.close()
    failed = [process.exitcode for process in processes if process.exitcode]
    if failed:
        logger.error("A Rasa worker exited (exit codes %s): the server stops", failed)
        sys.exit(1)


def _worker(parent: int, **server_settings: Any) -> None:
    # The parent's handlers are not the worker's: until Sanic sets its own (once the model is
    # loaded), a signal ends the worker.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    runners.serve(**server_settings)


def uses_tensorflow(component: Type) -> bool:
    """Whether TensorFlow is imported by the module of the component's class or of a base."""
    return any(isinstance(value, ModuleType) and value.__name__.split(".")[0] == "tensorflow"
               for cls in component.__mro__
               for value in vars(sys.modules[cls.__module__]).values())


class ModelLoadedBeforeFork:
    """`MessageProcessor._load_model` that hands a worker the model its parent loaded before
    the fork, if the file has not changed since; any other model (`PUT /model`, a retrained
    file) loads as it always does."""

    def __init__(self, load: Callable[[Any], Tuple]) -> None:
        self.load = load
        self.loaded: Optional[Tuple[Tuple, Tuple]] = None  # (the file's identity, the model)

    @staticmethod
    def identity(model_path: Any) -> Optional[Tuple]:
        path = Path(model_path)
        if not path.is_file():
            return None  # a directory (its latest model) or nothing: Rasa's load decides
        stat = path.stat()
        return str(path.resolve()), stat.st_mtime_ns, stat.st_size

    def preload(self, model_path: Any) -> None:
        identity = self.identity(model_path)
        if identity is None:
            return
        schema = LocalModelStorage.metadata_from_archive(model_path).predict_schema
        if any(uses_tensorflow(node.uses) for node in schema.nodes.values()):
            logger.info("The model runs TensorFlow, which does not survive a fork: each worker "
                        "loads it")
            return
        self.loaded = (identity, self.load(model_path))

    def __call__(self, model_path: Any) -> Tuple[Text, Any, Any]:
        if self.loaded is not None and self.identity(model_path) == self.loaded[0]:
            return self.loaded[1]
        return self.load(model_path)


_held: List[socket.socket] = []  # the sockets holding the ports this process serves on


def claim_port(interface: Optional[Text], port: int) -> None:
    """Exits with a message if something listens on the port; else holds it for the workers.

    The workers listen with SO_REUSEPORT, which lets any later process of the same user listen
    on the port too: a second server would silently get half the connections. A socket bound
    without that option fails while any other is bound there (SO_REUSEADDR still lets a port
    whose old connections are closing be reused). Then a socket bound with SO_REUSEPORT alone,
    never listening, keeps every later server off the port until this process ends, while this
    one's workers bind beside it."""
    host = interface or "0.0.0.0"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            sys.exit(f"port {port} is already in use ({error.strerror}): is another assistant "
                     f"running? Stop it, or start this one with another --port.")
    holder = socket.socket(family, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind((host, port))
    _held.append(holder)


_model: List[ModelLoadedBeforeFork] = []  # the one MessageProcessor loads, once patched


def loaded_before_fork(load: Callable) -> staticmethod:
    """MessageProcessor's model loader, loading once in the parent what the workers share."""
    _model[:] = [ModelLoadedBeforeFork(load)]
    return staticmethod(_model[0])


def loading_the_model_first(serve: Callable) -> Callable:
    """Rasa's serve_application, claiming the port and loading the model before the fork."""
    signature = inspect.signature(serve)

    @functools.wraps(serve)  # Rasa passes only the arguments the signature names
    def serve_application(model_path: Optional[Text] = None, *args: Any, **kwargs: Any) -> Any:
        if configured_workers() > 1:
            settings = signature.bind(model_path, *args, **kwargs)
            settings.apply_defaults()
            claim_port(settings.arguments["interface"], settings.arguments["port"])
            if model_path and _model:
                _model[0].preload(model_path)
        return serve(model_path, *args, **kwargs)

    return serve_application


def configure() -> None:
    """A worker per core unless SANIC_WORKERS says otherwise."""
    os.environ.setdefault(ENV_SANIC_WORKERS, str(default_workers()))
