"""The switch between the embedded stores and production ones (envtemplate.py on endpoints.yml),
as `make run`, the tests' Assistant and deploy/rasa.sh run it."""
import subprocess
import sys

import yaml

from harness.launcher import PROJECT

# The action server's secret is required either way (docs/security.md).
EMBEDDED = {"ACTION_SERVER_TOKEN": "s3cret-actions"}
PRODUCTION = {**EMBEDDED, "ASSISTANT_STORES": "production", "RABBITMQ_PASSWORD": "s3cret-rabbit",
              "POSTGRES_PASSWORD": "s3cret-postgres"}


def written_endpoints(tmp_path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "envtemplate", "endpoints", "endpoints.yml",
                           str(tmp_path / "endpoints.yml")], cwd=PROJECT, capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin", **env})


def test_by_default_one_machine_needs_no_service(tmp_path):
    assert written_endpoints(tmp_path, EMBEDDED).returncode == 0
    text = (tmp_path / "endpoints.yml").read_text()
    endpoints = yaml.safe_load(text)
    assert endpoints["tracker_store"] == {
        "type": "stores.fail_loud.FailLoudTrackerStore",
        "wrapped_type": "stores.tracker.WindowedSQLTrackerStore", "dialect": "sqlite",
        "db": "tracker.db"}
    assert endpoints["action_endpoint"]["headers"] == {
        "Authorization": "Bearer ${ACTION_SERVER_TOKEN}"}  # Rasa reads it at start-up
    assert "s3cret-actions" not in text
    assert endpoints["lock_store"] == {"type": "stores.lock.SQLiteLockStore", "db": "tracker.db"}
    assert "event_broker" not in endpoints
    assert endpoints["action_endpoint"]["url"] == "http://localhost:5055/webhook"


def test_production_uses_postgresql_redis_and_rabbitmq_with_secrets_left_in_the_environment(
        tmp_path):
    assert written_endpoints(tmp_path, {**PRODUCTION, "REDIS_HOST": "redis.internal"}
                             ).returncode == 0
    text = (tmp_path / "endpoints.yml").read_text()
    endpoints = yaml.safe_load(text)
    assert endpoints["tracker_store"]["dialect"] == "postgresql"
    assert endpoints["tracker_store"]["wrapped_type"] == "stores.tracker.WindowedSQLTrackerStore"
    assert endpoints["lock_store"]["type"] == "stores.lock.AtomicRedisLockStore"
    assert endpoints["lock_store"]["url"] == "${REDIS_HOST}"  # Rasa reads it at start-up
    assert endpoints["event_broker"]["type"] == "pika"
    assert "s3cret" not in text and "${RABBITMQ_PASSWORD}" in text
    assert "password: ${POSTGRES_PASSWORD}" in text


def test_production_without_a_required_secret_refuses_to_start(tmp_path):
    result = written_endpoints(tmp_path, {"ASSISTANT_STORES": "production"})
    assert result.returncode != 0 and "event_broker needs RABBITMQ_PASSWORD" in result.stderr
    assert not (tmp_path / "endpoints.yml").exists()


def test_a_mistyped_switch_is_an_error_not_a_silent_default(tmp_path):
    result = written_endpoints(tmp_path, {"ASSISTANT_STORES": "prod"})
    assert result.returncode != 0 and "not one of embedded, production" in result.stderr


def test_each_deployment_publishes_to_an_exchange_of_its_own(tmp_path):
    def exchange(env: dict) -> str:
        assert written_endpoints(tmp_path, {**PRODUCTION, **env}).returncode == 0
        return yaml.safe_load((tmp_path / "endpoints.yml").read_text()
                              )["event_broker"]["exchange_name"]

    assert exchange({}) == "rasa_events"  # named after the default queue, not `rasa-exchange`
    assert exchange({"RABBITMQ_QUEUE": "staging"}) == "${RABBITMQ_QUEUE}"  # Rasa reads it
    assert exchange({"RABBITMQ_QUEUE": "staging", "RABBITMQ_EXCHANGE": "x"}) == \
        "${RABBITMQ_EXCHANGE}"
