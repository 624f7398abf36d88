"""Writes a file Rasa runs with (credentials or endpoints) from a template of the project's and
the environment:

    python -m envtemplate credentials credentials.yml build/credentials.yml
    python -m envtemplate endpoints endpoints.yml build/endpoints.yml

In a template's settings, `${NAME}` is a required environment variable and `${NAME:-default}` an
optional one: the default when NAME is not set, and with an empty default the setting is left
out (Rasa's own default applies). A default may be another variable's: `${A:-${B:-x}}` is A if
set, else B if set, else x. Variables that are set stay `${NAME}` in the written file, and
Rasa reads their values from its environment at start-up, so secrets never land on disk. (Rasa
itself reads `${NAME}` but not `${NAME:-default}`, and fails on an unset variable: hence this
step.)

A top-level section may come in variants, one of them chosen by a variable:

    tracker_store:
      select: ${ASSISTANT_STORES:-embedded}
      embedded: {type: SQL, dialect: sqlite, db: tracker.db}
      production: {type: SQL, dialect: postgresql, host: ${POSTGRES_HOST}}

A variant that is empty (`embedded:` with nothing after it) leaves the section out.

What a missing required variable does depends on the file: in credentials it switches its
channel off (Telegram runs exactly when its secrets are set); in endpoints it is an error, since
a store left out silently would be a store in memory, losing every conversation.

Run it as a program, not imported beside Rasa, which changes how every YAML file in the process
is read.
"""
import os
import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple

import yaml

# ${NAME}, ${NAME:-default}, and a default that is itself a reference: ${NAME:-${OTHER:-x}}.
REFERENCE = re.compile(r"\$\{(\w+)(:-(?:[^{}]|\$\{\w+(?::-[^{}]*)?\})*)?\}")
LEFT_OUT = object()  # an optional setting whose variable is not set and whose default is empty
SELECT = "select"


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


def selected_variant(section: str, settings: Any, env: Mapping[str, str]) -> Any:
    """The variant of a section that its `select` variable chooses (the settings themselves
    when the section has no variants), LEFT_OUT for an empty variant."""
    if not (isinstance(settings, dict) and SELECT in settings):
        return settings
    choice = value_of(str(settings[SELECT]), env)
    variants = [name for name in settings if name != SELECT]
    if choice not in variants:
        raise TemplateError(f"{section}: {settings[SELECT]} is {choice!r}, "
                            f"not one of {', '.join(variants)}")
    return LEFT_OUT if settings[choice] is None else settings[choice]


def expand(template: Dict[str, Any], env: Mapping[str, str]
           ) -> Tuple[Dict[str, Any], Dict[str, List[str]]]:
    """The sections to write, with their settings, and for each section left out for want of
    required variables the variables it is missing."""
    kept, incomplete = {}, {}
    for section, settings in template.items():
        settings = selected_variant(section, settings, env)
        if settings is LEFT_OUT:
            continue
        missing = missing_variables(settings, env)
        if missing:
            incomplete[section] = missing
        else:
            kept[section] = resolve(settings, env)
    return kept, incomplete


def write(template_path: str, output_path: str, sections: Dict[str, Any]) -> None:
    output = Path(output_path)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(f"# Written by envtemplate.py from {template_path}: edit that.\n"
                      + yaml.safe_dump(sections, sort_keys=False))


def main(kind: str, template_path: str, output_path: str) -> None:
    template = yaml.safe_load(Path(template_path).read_text()) or {}
    try:
        kept, incomplete = expand(template, os.environ)
    except TemplateError as error:
        sys.exit(f"{template_path}: {error}")
    if kind == "endpoints" and incomplete:
        sys.exit(f"{template_path}: " + "; ".join(
            f"{section} needs {', '.join(missing)}" for section, missing in incomplete.items()))
    write(template_path, output_path, kept)
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
    if len(sys.argv) != 4 or sys.argv[1] not in ("credentials", "endpoints"):
        sys.exit("usage: python -m envtemplate credentials|endpoints TEMPLATE OUTPUT")
    main(*sys.argv[1:])
