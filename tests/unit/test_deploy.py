"""deploy/: what can be checked without a Docker engine (none runs on this machine kind): the
compose file's services and secrets, the balancer's servers, and the image's build steps."""
import re
import shutil
import subprocess

import pytest
import yaml

from harness.launcher import PROJECT

DEPLOY = PROJECT / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
SECRET = re.compile(r"PASSWORD|TOKEN|SECRET")
REQUIRED = re.compile(r"^\$\{(\w+):\?[^}]*\}$")  # ${NAME:?message}: compose refuses to start


def test_compose_runs_two_replicas_of_each_server_on_the_three_stores_behind_a_balancer():
    assert set(SERVICES) == {"rasa1", "rasa2", "actions1", "actions2", "lb", "postgres", "redis",
                             "rabbitmq"}
    rasa = SERVICES["rasa1"]["environment"]
    assert rasa["ASSISTANT_STORES"] == "production" and SERVICES["rasa2"] == SERVICES["rasa1"]
    assert (rasa["POSTGRES_HOST"], rasa["REDIS_HOST"], rasa["RABBITMQ_HOST"]) == \
        ("postgres", "redis", "rabbitmq")
    assert rasa["ACTION_SERVER_URL"] == "http://lb:5055/webhook"


def test_every_secret_comes_from_the_environment_and_the_required_ones_stop_compose():
    for name, service in SERVICES.items():
        for variable, value in (service.get("environment") or {}).items():
            if SECRET.search(variable):
                assert str(value).startswith("${"), f"{name}: {variable} is written in the file"
    rasa = SERVICES["rasa1"]["environment"]
    for variable in ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "RABBITMQ_PASSWORD",
                     "ASSISTANT_REST_TOKEN", "ACTION_SERVER_TOKEN", "WIDGET_SESSION_SECRET"):
        assert REQUIRED.match(rasa[variable]).group(1) == variable
    assert SERVICES["actions1"]["environment"]["ACTION_SERVER_TOKEN"] == \
        rasa["ACTION_SERVER_TOKEN"]


def test_the_balancer_serves_every_replica_and_passes_the_clients_address_on():
    config = (DEPLOY / "haproxy.cfg").read_text()
    servers = set(re.findall(r"^\s*server (\w+) (\w+):(\d+)", config, re.MULTILINE))
    assert servers == {("rasa1", "rasa1", "5005"), ("rasa2", "rasa2", "5005"),
                       ("actions1", "actions1", "5055"), ("actions2", "actions2", "5055")}
    # Replicas leave the rotation when not ready (a store unreachable), not only when down.
    rasa_backend = config.split("\nbackend rasa")[1].split("\nfrontend")[0]
    assert "option httpchk GET /health/ready" in rasa_backend
    assert "/health/ready" in SERVICES["rasa1"]["healthcheck"]["test"][-1]
    # The per-address rate limit reads the client's address from X-Forwarded-For.
    assert "option forwardfor" in config.split("frontend rasa")[1].split("backend")[0]
    assert SERVICES["rasa1"]["environment"]["SANIC_PROXIES_COUNT"] == "1"


def test_behind_the_helm_chart_s_ingress_the_clients_address_is_read_from_the_proxy():
    """Else every client would share the ingress controller's per-address rate limit."""
    values = yaml.safe_load((DEPLOY / "helm-values.yml").read_text())
    env = {variable["name"]: variable.get("value") for variable in values["extraEnv"]}
    assert env["SANIC_PROXIES_COUNT"] == "1"


def test_the_image_builds_the_spacy_pipeline_the_model_loads():
    config = yaml.safe_load((PROJECT / "config.yml").read_text())
    [spacy] = [step["model"] for step in config["pipeline"] if step["name"] == "SpacyNLP"]
    assert f"RUN python -m pipeline.spacy_pipeline {spacy}" in \
        (DEPLOY / "Dockerfile").read_text()


@pytest.mark.skipif(shutil.which("docker") is None or subprocess.run(
    ["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="no docker compose on this machine")
def test_docker_compose_accepts_the_file(monkeypatch):
    for variable in ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "RABBITMQ_PASSWORD",
                     "ASSISTANT_REST_TOKEN", "ACTION_SERVER_TOKEN", "WIDGET_SESSION_SECRET",
                     "WIDGET_ORIGINS"):
        monkeypatch.setenv(variable, "x")
    checked = subprocess.run(["docker", "compose", "-f", str(DEPLOY / "docker-compose.yml"),
                              "config", "--quiet"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
