"""How runtime/ changes Rasa's and Sanic's internals: each change is a `Patch`, listed in
runtime/patches.py, that replaces one attribute of a class or module of the versions in
CHECKED_AGAINST. `install` refuses other versions with a message, and ASSISTANT_PATCHES=off runs
both as shipped (slower, and without the guards of runtime/connections.py).

With ASSISTANT_PATCH_TRACE=FILE set, each process appends to FILE the name of every patch the
first time it runs: tests/integration/test_patches.py sends real messages and fails if one was
never exercised (a Rasa release that stopped calling what a patch replaces would leave it
silently doing nothing).

No Rasa import here: the action server (rasa_sdk only) installs its patch through this module.
"""
import functools
import os
import sys
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Callable, Dict, Iterable, Set

# The versions whose internals the patches were read against and tested with.
CHECKED_AGAINST = {"rasa": "3.6.21", "sanic": "21.12.2", "sanic-jwt": "1.8.0"}
SWITCH = "ASSISTANT_PATCHES"
TRACE = "ASSISTANT_PATCH_TRACE"


@dataclass(frozen=True)
class Patch:
    """`owner.attribute` replaced by `make(the original)`: why is `make`'s docstring, `package`
    the one of CHECKED_AGAINST it was read in, `test` the test that shows it works."""

    owner: Any
    attribute: str
    make: Callable[[Any], Any]
    package: str
    test: str

    @property
    def name(self) -> str:
        owner = getattr(self.owner, "__qualname__", None) or self.owner.__name__
        return f"{owner}.{self.attribute}"


def enabled() -> bool:
    """Whether runtime/'s changes to Rasa and Sanic are on (ASSISTANT_PATCHES=off: stock)."""
    return os.environ.get(SWITCH, "on").strip().lower() != "off"


def require_versions(checked: Dict[str, str]) -> None:
    """Exits with a message unless the installed distributions are those patched here."""
    installed = {}
    for name in checked:
        try:
            installed[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed[name] = "(not installed)"
    if installed != checked:
        expected = ", ".join(f"{name} {version}" for name, version in checked.items())
        found = ", ".join(f"{name} {version}" for name, version in installed.items())
        sys.exit(f"runtime/ changes the internals of {expected} and was checked against those "
                 f"versions only; installed: {found}. Install requirements.txt, or set "
                 f"{SWITCH}=off to run them as shipped, without these fixes.")


_installed: Set[str] = set()


def install(patches: Iterable[Patch]) -> None:
    """Replaces what each patch replaces (once per process), after checking the versions."""
    patches = [patch for patch in patches if patch.name not in _installed]
    require_versions({patch.package: CHECKED_AGAINST[patch.package] for patch in patches})
    trace = os.environ.get(TRACE)
    for patch in patches:
        replacement = patch.make(getattr(patch.owner, patch.attribute))
        if trace:
            replacement = _traced(replacement, patch.name, trace)
        setattr(patch.owner, patch.attribute, replacement)
        _installed.add(patch.name)


def _traced(value: Any, name: str, trace: str) -> Any:
    """`value` (a function, a static method or a class) noting in `trace` when it first runs."""
    ran = False

    def note() -> None:
        nonlocal ran
        if not ran:
            ran = True
            with open(trace, "a", encoding="utf-8") as file:  # one short line: appends don't mix
                file.write(f"{name}\n")

    if isinstance(value, staticmethod):
        return staticmethod(_traced(value.__func__, name, trace))
    if isinstance(value, type):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            note()
            value.__init__(self, *args, **kwargs)
        return type(value.__name__, (value,), {"__init__": __init__})

    @functools.wraps(value)
    def traced(*args: Any, **kwargs: Any) -> Any:
        note()
        return value(*args, **kwargs)

    return traced
