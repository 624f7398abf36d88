"""The secrets `make run` needs, from the environment or a git-ignored .env file:

    eval "$(python -m runtime.tokens .env)"

ASSISTANT_REST_TOKEN (what REST clients send as `Authorization: Bearer ...`) and
ACTION_SERVER_TOKEN (what Rasa sends the action server) are taken from the environment when set,
else from .env, else generated into .env (readable by its owner only). Prints, for the shell to
evaluate, `export NAME=value` for every variable of .env the environment does not set (so
Telegram's or Slack's secrets can live there too), and says on stderr where each token is.

A REST token shorter than MIN_REST_TOKEN_LENGTH characters (anyone reaching :5005 may guess it)
is refused, with exit status 1 and nothing printed, unless ASSISTANT_LOCAL_TEST=1 says the
assistant is only being tried out on this machine.
"""
import os
import secrets
import shlex
import sys
from pathlib import Path
from typing import Dict

TOKENS = {"ASSISTANT_REST_TOKEN": "REST channel token (clients send it as a bearer token)",
          "ACTION_SERVER_TOKEN": "action server token (Rasa sends it)"}
# A generated token has 43 characters (32 random bytes).
MIN_REST_TOKEN_LENGTH = 32
LOCAL_TEST = "ASSISTANT_LOCAL_TEST"


def read_env_file(path: Path) -> Dict[str, str]:
    variables = {}
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                name, value = line.split("=", 1)
                variables[name.strip().removeprefix("export ").strip()] = \
                    value.strip().strip("'\"")
    return variables


def main(path: Path) -> None:
    saved = read_env_file(path)
    for name, what in TOKENS.items():
        if os.environ.get(name):
            print(f"{what}: {name} from the environment", file=sys.stderr)
        elif saved.get(name):
            print(f"{what}: {name} in {path.resolve()}", file=sys.stderr)
        else:
            saved[name] = secrets.token_urlsafe(32)
            path.touch(mode=0o600)
            path.chmod(0o600)
            text = path.read_text()
            separator = "\n" if text and not text.endswith("\n") else ""
            path.write_text(f"{text}{separator}{name}={saved[name]}\n")
            print(f"{what}: {name} generated into {path.resolve()}", file=sys.stderr)
    rest_token = os.environ.get("ASSISTANT_REST_TOKEN") or saved["ASSISTANT_REST_TOKEN"]
    if len(rest_token) < MIN_REST_TOKEN_LENGTH and os.environ.get(LOCAL_TEST) != "1":
        sys.exit(f"ASSISTANT_REST_TOKEN has {len(rest_token)} characters: a REST token needs at "
                 f"least {MIN_REST_TOKEN_LENGTH}, or anyone reaching the port may guess it. "
                 f"Remove it from {path.resolve()} (a strong one is generated) or set one from "
                 f"`python -c 'import secrets; print(secrets.token_urlsafe(32))'`; to try the "
                 f"assistant on this machine only, set {LOCAL_TEST}=1.")
    for name, value in saved.items():
        if name.isidentifier() and not os.environ.get(name):
            print(f"export {name}={shlex.quote(value)}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m runtime.tokens ENV_FILE")
    main(Path(sys.argv[1]))
