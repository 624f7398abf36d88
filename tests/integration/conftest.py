import pytest

from harness.production_stores import ProductionStores, unreachable_services


@pytest.fixture(scope="module")
def stores():
    """The machine's PostgreSQL, Redis and RabbitMQ behind fault proxies of the module's own."""
    missing = unreachable_services()
    if missing:
        pytest.skip(f"needs the machine's services: {', '.join(missing)} did not answer")
    stores = ProductionStores.start()
    yield stores
    stores.close()
