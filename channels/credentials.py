"""Writes the credentials file Rasa runs with, from the project's credentials.yml and the
environment (envtemplate.py does the work; this name stays for `make run` and the tests):

    python -m channels.credentials credentials.yml build/credentials.yml

credentials.yml names every channel the assistant can speak on. In its settings, `${NAME}` is
required: a channel is switched on only when every variable it requires is set (to something
non-empty), so Telegram and Slack run exactly when their secrets are in the environment.
`${NAME:-default}` is optional: the default when NAME is not set, and with an empty default the
setting is left out (the connector's own default applies). Secrets stay `${NAME}` in the written
file. Run it as a program, not imported beside Rasa.
"""
import sys

import envtemplate

if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m channels.credentials TEMPLATE OUTPUT")
    envtemplate.main("credentials", *sys.argv[1:])
