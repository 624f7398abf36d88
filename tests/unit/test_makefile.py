"""The Makefile's options for `make run`, read by Rasa's own command-line parser."""
import os
import shlex
import subprocess

import pytest
from rasa.__main__ import create_argument_parser

from harness.launcher import PROJECT


def rasa_options(**environment: str) -> list:
    """RASA_OPTIONS as the shell of `make run` expands them, one argument a line."""
    shown = subprocess.run(
        ["make", "-s", "--no-print-directory", "--eval",
         'rasa-options: ; @for option in $(RASA_OPTIONS); do printf "%s\\n" "$$option"; done',
         "rasa-options"],
        cwd=PROJECT, env={"PATH": os.environ["PATH"], **environment}, capture_output=True,
        text=True, check=True)
    return shown.stdout.splitlines()


@pytest.mark.parametrize("secret", ["-starts-like-a-flag", "plain secret with spaces"])
def test_the_api_secret_reaches_rasa_whatever_its_first_character(secret):
    options = rasa_options(ASSISTANT_API_JWT_SECRET=secret,
                           ASSISTANT_CORS_ORIGINS="https://a.example https://b.example")
    arguments = create_argument_parser().parse_args(["run", *options])
    assert arguments.enable_api and arguments.jwt_secret == secret, shlex.join(options)
    assert arguments.cors == ["https://a.example", "https://b.example"]


def test_without_a_secret_the_http_api_stays_off():
    arguments = create_argument_parser().parse_args(["run", *rasa_options()])
    assert not arguments.enable_api and arguments.jwt_secret is None
