"""The files Rasa runs with under `make run`, the tests and deploy/ (envtemplate.py): the
project's plain Rasa files with environment.yml's settings, the stores ASSISTANT_STORES
chooses and the channels their secrets switch on; and the top-level files as Rasa itself
reads them."""
import json
import subprocess
import sys

import yaml

from harness.launcher import PROJECT, SHIPPED_ENDPOINTS

# The action server's secret is required either way (docs/security.md).
EMBEDDED = {"ACTION_SERVER_TOKEN": "s3cret-actions"}
PRODUCTION = {**EMBEDDED, "ASSISTANT_STORES": "production", "RABBITMQ_PASSWORD": "s3cret-rabbit",
              "POSTGRES_PASSWORD": "s3cret-postgres"}


def written(tmp_path, kind: str, env: dict, *base: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "envtemplate", kind,
                           str(tmp_path / f"{kind}.yml"), *base], cwd=PROJECT,
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", **env})


def written_endpoints(tmp_path, env: dict, *base: str) -> str:
    assert written(tmp_path, "endpoints", env, *base).returncode == 0
    return (tmp_path / "endpoints.yml").read_text()


def written_credentials(tmp_path, env: dict) -> str:
    assert written(tmp_path, "credentials", env).returncode == 0
    return (tmp_path / "credentials.yml").read_text()


def test_by_default_one_machine_needs_no_service(tmp_path):
    text = written_endpoints(tmp_path, EMBEDDED)
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
    assert endpoints == yaml.safe_load((PROJECT / "endpoints.yml").read_text())


def test_the_environment_moves_the_sqlite_file_and_the_action_server(tmp_path):
    endpoints = yaml.safe_load(written_endpoints(tmp_path, {
        **EMBEDDED, "ASSISTANT_SQLITE_DB": "/srv/chat.db", "ACTION_SERVER_URL": "http://a:1/w"}))
    assert endpoints["tracker_store"]["db"] == endpoints["lock_store"]["db"] == \
        "${ASSISTANT_SQLITE_DB}"  # Rasa reads it at start-up
    assert endpoints["action_endpoint"]["url"] == "${ACTION_SERVER_URL}"


def test_a_store_the_base_file_lacks_is_not_added_by_its_settings(tmp_path):
    endpoints = yaml.safe_load(written_endpoints(
        tmp_path, {**EMBEDDED, "ASSISTANT_SQLITE_DB": "/srv/chat.db"},
        "--base", str(SHIPPED_ENDPOINTS)))
    assert set(endpoints) == {"action_endpoint", "tracker_store"}  # Rasa's lock in memory
    assert endpoints["tracker_store"] == {"type": "SQL", "dialect": "sqlite",
                                          "db": "${ASSISTANT_SQLITE_DB}"}


def test_production_uses_postgresql_redis_and_rabbitmq_with_secrets_left_in_the_environment(
        tmp_path):
    text = written_endpoints(tmp_path, {**PRODUCTION, "REDIS_HOST": "redis.internal"})
    endpoints = yaml.safe_load(text)
    assert endpoints["tracker_store"]["dialect"] == "postgresql"
    assert endpoints["tracker_store"]["wrapped_type"] == "stores.tracker.WindowedSQLTrackerStore"
    assert endpoints["lock_store"]["type"] == "stores.lock.AtomicRedisLockStore"
    assert endpoints["lock_store"]["url"] == "${REDIS_HOST}"  # Rasa reads it at start-up
    assert endpoints["event_broker"]["type"] == "pika"
    assert "s3cret" not in text and "${RABBITMQ_PASSWORD}" in text
    assert endpoints["tracker_store"]["password"] == "${POSTGRES_PASSWORD}"
    trusted = yaml.safe_load(written_endpoints(tmp_path, {**PRODUCTION, "POSTGRES_PASSWORD": ""}))
    assert "password" not in trusted["tracker_store"]  # a server trusting local connections


def test_production_without_a_required_secret_refuses_to_start(tmp_path):
    result = written(tmp_path, "endpoints", {**EMBEDDED, "ASSISTANT_STORES": "production"})
    assert result.returncode != 0 and "event_broker needs RABBITMQ_PASSWORD" in result.stderr
    assert not (tmp_path / "endpoints.yml").exists()


def test_a_mistyped_switch_is_an_error_not_a_silent_default(tmp_path):
    result = written(tmp_path, "endpoints", {"ASSISTANT_STORES": "prod"})
    assert result.returncode != 0 and "not one of embedded, production" in result.stderr


def test_each_deployment_publishes_to_an_exchange_of_its_own(tmp_path):
    def broker(env: dict) -> dict:
        return yaml.safe_load(written_endpoints(tmp_path, {**PRODUCTION, **env}))["event_broker"]

    assert broker({})["exchange_name"] == "rasa_events"  # after its queue, not `rasa-exchange`
    staging = broker({"RABBITMQ_QUEUE": "staging"})
    assert staging["queues"] == ["${RABBITMQ_QUEUE}"] == [staging["exchange_name"]]
    assert broker({"RABBITMQ_QUEUE": "staging", "RABBITMQ_EXCHANGE": "x"})["exchange_name"] == \
        "${RABBITMQ_EXCHANGE}"


def test_telegram_slack_and_callback_are_on_only_with_their_secrets_which_stay_off_disk(
        tmp_path):
    default = written_credentials(tmp_path, {})
    assert "SocketIOInput:" in default
    # REST and callback need their tokens (docs/security.md): no open webhook by default.
    for channel in ("RestInput", "CallbackInput", "Telegram", "Slack"):
        assert channel not in default
    tokens = written_credentials(tmp_path, {"ASSISTANT_REST_TOKEN": "r3st",
                                            "CALLBACK_TOKEN": "c4llback"})
    assert "token: ${ASSISTANT_REST_TOKEN}" in tokens and "r3st" not in tokens
    assert "webhook_token: ${CALLBACK_TOKEN}" in tokens and "c4llback" not in tokens
    half = written_credentials(tmp_path, {"SLACK_BOT_TOKEN": "xoxb-1"})
    assert "Slack" not in half  # the signing secret is missing
    full = written_credentials(tmp_path, {"SLACK_BOT_TOKEN": "xoxb-1",
                                          "SLACK_SIGNING_SECRET": "s3cret"})
    assert "slack_token: ${SLACK_BOT_TOKEN}" in full and "xoxb-1" not in full
    assert "s3cret" not in full and "api_url" not in full  # the connector's default applies


def test_the_widgets_origins_and_the_rate_limits_come_from_the_environment(tmp_path):
    credentials = yaml.safe_load(written_credentials(tmp_path, {
        "ASSISTANT_REST_TOKEN": "r3st", "WIDGET_ORIGINS": "https://careers.example",
        "ASSISTANT_RATE_LIMIT_SENDER": "5"}))
    assert credentials["channels.socketio.SocketIOInput"]["cors_allowed_origins"] == \
        "${WIDGET_ORIGINS}"
    assert credentials["channels.rest.RestInput"] == {
        "token": "${ASSISTANT_REST_TOKEN}", "rate_limit_sender": "${ASSISTANT_RATE_LIMIT_SENDER}"}


READ_AS_RASA_DOES = """
import json
from rasa.core.run import create_http_input_channels
from rasa.core.utils import AvailableEndpoints
read = {name: AvailableEndpoints.read_endpoints(name)
        for name in ("endpoints.yml", "endpoints.production.yml")}
print(json.dumps({
    "endpoints": {name: {"action": endpoints.action.url,
                         "authorization": endpoints.action.headers["Authorization"],
                         "tracker_store": endpoints.tracker_store.kwargs.get("wrapped_type"),
                         "lock_store": endpoints.lock_store.type,
                         "broker": endpoints.event_broker and endpoints.event_broker.type}
                  for name, endpoints in read.items()},
    "channels": [channel.name()
                 for channel in create_http_input_channels(None, "credentials.yml")],
}))
"""


def test_rasa_reads_the_top_level_files_as_they_stand_with_the_secrets_of_dot_env():
    dot_env = {"ACTION_SERVER_TOKEN": "a", "ASSISTANT_REST_TOKEN": "r" * 32}
    shown = subprocess.run([sys.executable, "-c", READ_AS_RASA_DOES], cwd=PROJECT, text=True,
                           capture_output=True, env={"PATH": "/usr/bin:/bin", **dot_env,
                                                     "RABBITMQ_PASSWORD": "p",
                                                     "RASA_TELEMETRY_ENABLED": "false"})
    assert shown.returncode == 0, shown.stderr[-3000:]
    read = json.loads(shown.stdout.splitlines()[-1])
    assert read["channels"] == ["rest", "socketio"]
    embedded, production = read["endpoints"]["endpoints.yml"], \
        read["endpoints"]["endpoints.production.yml"]
    assert embedded == {"action": "http://localhost:5055/webhook", "authorization": "Bearer a",
                        "tracker_store": "stores.tracker.WindowedSQLTrackerStore",
                        "lock_store": "stores.lock.SQLiteLockStore", "broker": None}
    assert production["lock_store"] == "stores.lock.AtomicRedisLockStore"
    assert production["broker"] == "pika"
