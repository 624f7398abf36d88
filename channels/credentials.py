"""Writes the credentials file Rasa runs with, from the project's credentials.yml and the
environment:

    python -m channels.credentials credentials.yml build/credentials.yml

credentials.yml names every channel the assistant can speak on. In its settings, `${NAME}` is
required: a channel is switched on only when every variable it requires is set (to something
non-empty), so Telegram and Slack run exactly when their secrets are in the environment.
`${NAME:-default}` is optional: the default when NAME is not set, and with an empty default the
setting is left out (the connector's own default applies).

Variables that are set stay `${NAME}` in the written file, and Rasa reads their values from its
environment at start-up, so secrets never land on disk. (Rasa itself reads `${NAME}` but not
`${NAME:-default}`, and fails on an unset variable: hence this step.) Run it as a program, not
imported beside Rasa, which changes how every YAML file in the process is read.
"""
import os
import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple

import yaml

REFERENCE = re.compile(r"\$\{(\w+)(:-[^}]*)?\}")
LEFT_OUT = object()  # an optional setting whose variable is not set and whose default is empty


def strings_in(settings: Any) -> List[str]:
    if isinstance(settings, dict):
        return [s for value in settings.values() for s in strings_in(value)]
    if isinstance(settings, list):
        return [s for value in settings for s in strings_in(value)]
    return [settings] if isinstance(settings, str) else []


def missing_variables(settings: Any, env: Mapping[str, str]) -> List[str]:
    """The required variables of a channel's settings that are not set."""
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
        return f"${{{name}}}" if env.get(name) or default is None else default[2:]

    resolved = REFERENCE.sub(substitute, settings)
    return LEFT_OUT if resolved == "" and settings != "" else resolved


def effective_credentials(template: Dict[str, Any], env: Mapping[str, str]
                          ) -> Tuple[Dict[str, Any], Dict[str, List[str]]]:
    """The channels to run, with their settings, and for each channel left off the variables
    it is missing."""
    enabled, disabled = {}, {}
    for channel, settings in template.items():
        missing = missing_variables(settings, env)
        if missing:
            disabled[channel] = missing
        else:
            enabled[channel] = resolve(settings, env)
    return enabled, disabled


def main(template_path: str, output_path: str) -> None:
    template = yaml.safe_load(Path(template_path).read_text()) or {}
    enabled, disabled = effective_credentials(template, os.environ)
    output = Path(output_path)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(f"# Written by channels/credentials.py from {template_path}: edit that.\n"
                      + yaml.safe_dump(enabled, sort_keys=False))
    print(f"Channels on: {', '.join(enabled) or 'none'}", file=sys.stderr)
    for channel, missing in disabled.items():
        print(f"Channel off: {channel} (set {', '.join(missing)} to switch it on)",
              file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m channels.credentials TEMPLATE OUTPUT")
    main(*sys.argv[1:])
