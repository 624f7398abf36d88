"""Two deployments on one RabbitMQ (each with its own RABBITMQ_QUEUE, and so its own exchange:
endpoints.yml) receive only their own conversations' events. With Rasa's one `rasa-exchange`
each queue got every deployment's events."""
import time
import uuid

import pytest

from harness.launcher import Assistant
from harness.production_stores import ProductionStores, unreachable_services


@pytest.fixture(scope="module")
def deployments(tmp_path_factory):
    missing = unreachable_services()
    if missing:
        pytest.skip(f"needs the machine's services: {', '.join(missing)} did not answer")
    stores, assistants = [], []
    try:
        for name in ("staging", "production"):
            stores.append(ProductionStores.start())
            assistants.append(Assistant(tmp_path_factory.mktemp(name),
                                        env=stores[-1].env(SANIC_WORKERS="1")))
        for assistant in assistants:
            assistant.wait_until_ready()
        yield list(zip(stores, assistants))
    finally:
        for assistant in assistants:
            assistant.stop()
        for store in stores:
            store.close()


def test_two_deployments_on_one_broker_receive_only_their_own_events(deployments):
    senders = []
    for _, assistant in deployments:
        senders.append(f"isolation-{uuid.uuid4().hex[:8]}")
        assert assistant.send(senders[-1], "what is kpo")
    for (stores, _), own in zip(deployments, senders):
        deadline = time.monotonic() + 60
        while not any(e.get("sender_id") == own for e in stores.broker_events()):
            assert time.monotonic() < deadline, "the deployment's own events never came"
        received = {e.get("sender_id") for e in stores.broker_events(settle=3)}
        assert own in received and not received & (set(senders) - {own}), received
