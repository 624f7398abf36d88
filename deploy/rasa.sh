#!/bin/sh
# Rasa in a container: the channels and stores the environment switches on (docs/production.md),
# written from the project's files and environment.yml; secrets stay in the environment, never in
# the files.
set -e
python -m envtemplate credentials build/credentials.yml
python -m envtemplate endpoints build/endpoints.yml
exec python -m runtime run --model models/assistant.tar.gz --port 5005 \
    --endpoints build/endpoints.yml --credentials build/credentials.yml "$@"
