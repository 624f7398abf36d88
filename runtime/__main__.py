"""`python -m runtime <rasa arguments>`: Rasa's command line, with runtime/patches.py applied,
a worker process per core (runtime/workers.py) and connections guarded (runtime/connections.py).
Those change the internals of the versions they were checked against, and refuse to start on
others; ASSISTANT_PATCHES=off runs Rasa as shipped."""
from rasa.__main__ import main

from runtime import connections, patches, workers

if __name__ == "__main__":
    if connections.enabled():
        connections.require_versions({**patches.CHECKED_AGAINST, **connections.CHECKED_AGAINST})
        patches.apply()
        workers.apply()
        connections.apply()
    main()
