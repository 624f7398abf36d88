#!/bin/sh
# Rasa in a container: the channels and stores the environment switches on (docs/production.md),
# written from the project's templates; secrets stay in the environment, never in the files.
set -e
python -m channels.credentials credentials.yml build/credentials.yml
python -m envtemplate endpoints endpoints.yml build/endpoints.yml
exec python -m runtime run --model models/assistant.tar.gz --port 5005 \
    --endpoints build/endpoints.yml --credentials build/credentials.yml "$@"
