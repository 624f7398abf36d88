"""`python -m runtime <rasa arguments>`: Rasa's command line, with runtime/patches.py applied."""
from rasa.__main__ import main

from runtime import patches

if __name__ == "__main__":
    patches.apply()
    main()
