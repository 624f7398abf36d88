"""Writes a file Rasa runs with (credentials or endpoints) from the project's plain Rasa file
and the environment:

    python -m envtemplate credentials build/credentials.yml
    python -m envtemplate endpoints build/endpoints.yml [--base FILE]

The base is credentials.yml, or endpoints.yml (ASSISTANT_STORES unset or `embedded`) or
endpoints.production.yml (`production`), or FILE. Over it go the settings of its part of
environment.yml: `${NAME:-}` replaces the base's setting when NAME is set and leaves it alone
when not, `${NAME:-default}` falls back to the default (itself maybe a variable:
`${A:-${B:-x}}`), and `${NAME}` is required. Variables that are set stay `${NAME}` in the written
file, and Rasa reads their values from its environment at start-up, so secrets never land on
disk. (Rasa itself reads `${NAME}`, not `${NAME:-default}`, and fails on an unset variable:
hence this step.)

A section environment.yml adds (a channel credentials.yml lacks) is on when every variable it
requires is set, and ignored when it requires none. What a missing required variable does
depends on the file: in credentials it switches its channel off (Telegram runs exactly when its
secrets are set); in endpoints it is an error, since a store left out silently would be a store
in memory, losing every conversation.

Run it as a program, not imported beside Rasa, which changes how every YAML file in the process
is read.
"""
import os
import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml

# ${NAME}, ${NAME:-default}, and a default that is itself a reference: ${NAME:-${OTHER:-x}}.
REFERENCE = re.compile(r"\$\{(\w+)(:-(?:[^{}]|\$\{\w+(?::-[^{}]*)?\})*)?\}")
LEFT_OUT = object()  # an optional setting whose variable is not set and whose default is empty
PROJECT = Path(__file__).resolve().parent
ENVIRONMENT = PROJECT / "environment.yml"
STORES = "ASSISTANT_STORES"
ENDPOINTS = {"embedded": PROJECT / "endpoints.yml",
             "production": PROJECT / "endpoints.production.yml"}
CREDENTIALS = PROJECT / "credentials.yml"


class TemplateError(ValueError):
    """A template that cannot be written for this environment."""


def strings_in(settings: Any) -> List[str]:
    if isinstance(settings, dict):
        return [s for value in settings.values() for s in strings_in(value)]
    if isinstance(settings, list):
        return [s for value in settings for s in strings_in(value)]
    return [settings] if isinstance(settings, str) else []


def missing_variables(settings: Any, env: Mapping[str, str]) -> List[str]:
    """The required variables of some settings that are not set."""
    return sorted({match.group(1) for text in strings_in(settings)
                   for match in REFERENCE.finditer(text)
                   if match.group(2) is None and not env.get(match.group(1))})


def resolve(settings: Any, env: Mapping[str, str]) -> Any:
    """The settings with optional variables that are not set replaced by their defaults."""
    if isinstance(settings, dict):
        resolved = {key: resolve(value, env) for key, value in settings.items()}
        return {key: value for key, value in resolved.items() if value is not LEFT_OUT}
    if isinstance(settings, list):
        return [value for value in (resolve(v, env) for v in settings) if value is not LEFT_OUT]
    if not isinstance(settings, str):
        return settings

    def substitute(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if env.get(name) or default is None:
            return f"${{{name}}}"
        return REFERENCE.sub(substitute, default[2:])

    resolved = REFERENCE.sub(substitute, settings)
    return LEFT_OUT if resolved == "" and settings != "" else resolved


def value_of(text: str, env: Mapping[str, str]) -> str:
    """A string with every variable replaced by its value (or default)."""
    return REFERENCE.sub(lambda m: env.get(m.group(1))
                         or value_of((m.group(2) or ":-")[2:], env), text)


def stores(env: Mapping[str, str]) -> str:
    """The stores ASSISTANT_STORES chooses: embedded (the default) or production."""
    choice = env.get(STORES) or "embedded"
    if choice not in ENDPOINTS:
        raise TemplateError(f"{STORES} is {choice!r}, not one of {', '.join(ENDPOINTS)}")
    return choice


def base_and_part(kind: str, env: Mapping[str, str]) -> Tuple[Path, str]:
    """The project's file for `kind` and the part of environment.yml laid over it."""
    if kind == "credentials":
        return CREDENTIALS, "credentials"
    chosen = stores(env)
    return ENDPOINTS[chosen], chosen


def laid_over(base: Dict[str, Any], changes: Dict[str, Any], env: Mapping[str, str]
              ) -> Dict[str, Any]:
    """The base's sections with the changes' settings in their place, for this environment; a
    section the base lacks comes along only when it requires variables (a channel switched on
    by its secrets)."""
    merged = dict(base)
    for section, changed in changes.items():
        if section not in base and not missing_variables(changed, {}):
            continue
        changed = resolve(changed or {}, env)
        merged[section] = {**(base.get(section) or {}),
                           **{key: value for key, value in changed.items() if value != []}}
    return merged


def sections_for(kind: str, env: Mapping[str, str], base: Optional[Path] = None
                 ) -> Tuple[Path, Dict[str, Any], Dict[str, List[str]]]:
    """The base file, the sections to write with their settings, and for each section left out
    for want of required variables the variables it is missing."""
    default_base, part = base_and_part(kind, env)
    base = base or default_base
    changes = (yaml.safe_load(ENVIRONMENT.read_text()) or {}).get(part) or {}
    kept, incomplete = {}, {}
    for section, settings in laid_over(yaml.safe_load(base.read_text()) or {}, changes,
                                       env).items():
        missing = missing_variables(settings, env)
        if missing:
            incomplete[section] = missing
        else:
            kept[section] = resolve(settings, env)
    return base, kept, incomplete


def write(base: Path, output_path: str, sections: Dict[str, Any]) -> None:
    output = Path(output_path)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(f"# Written by envtemplate.py from {base.name} and environment.yml: "
                      f"edit those.\n" + yaml.safe_dump(sections, sort_keys=False))


def main(kind: str, output_path: str, base: Optional[Path] = None) -> None:
    try:
        base, kept, incomplete = sections_for(kind, os.environ, base)
    except TemplateError as error:
        sys.exit(str(error))
    if kind == "endpoints" and incomplete:
        sys.exit(f"{base.name}: " + "; ".join(
            f"{section} needs {', '.join(missing)}" for section, missing in incomplete.items()))
    write(base, output_path, kept)
    if kind == "credentials":
        print(f"Channels on: {', '.join(kept) or 'none'}", file=sys.stderr)
        for channel, missing in incomplete.items():
            print(f"Channel off: {channel} (set {', '.join(missing)} to switch it on)",
                  file=sys.stderr)
    else:
        print(f"Endpoints: {describe_endpoints(kept)}", file=sys.stderr)


def describe_endpoints(endpoints: Dict[str, Any]) -> str:
    stores = []
    for section in ("tracker_store", "lock_store", "event_broker"):
        settings = endpoints.get(section)
        if not settings:
            stores.append(f"{section} in memory" if section == "lock_store" else f"no {section}")
        else:
            detail = settings.get("wrapped_type", "") and f" ({settings['wrapped_type']})"
            where = settings.get("dialect") or settings.get("host") or settings.get("url") or ""
            stores.append(f"{section} {settings.get('type')}{detail} {where}".strip())
    return "; ".join(stores)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if len(arguments) not in (2, 4) or arguments[0] not in ("credentials", "endpoints") or (
            len(arguments) == 4 and arguments[2] != "--base"):
        sys.exit("usage: python -m envtemplate credentials|endpoints OUTPUT [--base FILE]")
    main(arguments[0], arguments[1], Path(arguments[3]) if len(arguments) == 4 else None)
