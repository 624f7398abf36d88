import sys
from pathlib import Path

import pytest

# Tests import the project's packages (actions, harness, ...) from the project root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.launcher import Assistant  # noqa: E402


@pytest.fixture(scope="session")
def assistant(tmp_path_factory) -> Assistant:
    running = Assistant(tmp_path_factory.mktemp("assistant"))
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.stop()
