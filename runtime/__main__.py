"""`python -m runtime <rasa arguments>`: Rasa's command line, with runtime/patches.py applied and
a worker process per core (runtime/workers.py)."""
from rasa.__main__ import main

from runtime import patches, workers

if __name__ == "__main__":
    patches.apply()
    workers.apply()
    main()
