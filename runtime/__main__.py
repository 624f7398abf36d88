"""`python -m runtime <rasa arguments>`: Rasa's command line with runtime/patches.py's list
applied (a worker process per core, connections guarded, per-message fixes). They change the
internals of the versions they were checked against and refuse to start on others;
ASSISTANT_PATCHES=off runs Rasa as shipped."""
from rasa.__main__ import main

from runtime import guard, patches

if __name__ == "__main__":
    if guard.enabled():
        patches.apply()
    main()
