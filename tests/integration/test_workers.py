"""runtime/workers.py: Rasa in a worker process per core, each listening on a socket of its own,
sharing the SQLite tracker store, the SQLite lock and the rate limits."""
import json
import os
import shutil
import signal
import sqlite3
import tarfile
import time
from pathlib import Path

import pytest
import requests
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.nlu.utils.spacy_utils import SpacyNLP

from harness.launcher import MODEL, Assistant, process_tree, running
from pipeline.intent_classifier import LinearIntentClassifier
from runtime.workers import ModelLoadedBeforeFork, default_workers, uses_tensorflow

pytestmark = pytest.mark.skipif(default_workers() < 2, reason="one core: one worker")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def user_texts(bot: Assistant, sender: str) -> list:
    with sqlite3.connect(bot.tracker_db) as db:
        rows = db.execute("SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' "
                          "ORDER BY id", (sender,)).fetchall()
    return [json.loads(data)["text"] for data, in rows]


@pytest.fixture(scope="module")
def workers(tmp_path_factory) -> Assistant:
    with running(tmp_path_factory.mktemp("workers"), default_workers()) as bot:
        yield bot


def test_every_worker_answers_and_a_conversation_keeps_its_context_across_them(workers):
    children = process_tree(workers.rasa_pid)[1:]
    assert len(children) == default_workers()
    before = {pid: cpu_seconds(pid) for pid in children}
    sender = "across-workers"
    # Each request on a new connection: the kernel picks a worker at random, so with 32 every
    # worker gets a few, and a worker that answered any has used some CPU (an idle one none).
    for _ in range(8):
        workers.send(sender, "what is kpo")
        follow_up = workers.send(sender, "what are its risks?")
        assert "intellectual property" in " ".join(m.get("text", "") for m in follow_up)
    assert user_texts(workers, sender) == ["what is kpo", "what are its risks?"] * 8
    for other in range(16):  # other conversations, within the per-sender rate limit
        assert workers.send(f"another-{other}", "what is bpo")
    busy = [pid for pid in children if cpu_seconds(pid) - before[pid] >= 0.02]
    assert busy == children, "a worker served none of 32 connections"


def memory_kb(pid: int) -> dict:
    lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    return {line.split(":")[0]: int(line.split()[1]) for line in lines}


def test_the_parent_loads_the_model_once_and_the_workers_share_its_memory(workers):
    workers.send("sharing", "what is kpo")
    log = workers.log("rasa").read_text()
    assert log.count("Loading model") == 1
    for worker in process_tree(workers.rasa_pid)[1:]:
        memory = memory_kb(worker)
        # A worker that loaded its own model, or whose collector touched every object it
        # inherited, writes most of its memory itself: here most of it is still its parent's.
        assert memory["Shared_Dirty"] > 2 * memory["Private_Dirty"], memory


def counting_loads(loads: list):
    def load(model_path):
        loads.append(model_path)
        return ("model.tar.gz", object(), object())

    return load


def test_a_worker_gets_the_preloaded_model_only_while_the_file_is_unchanged(tmp_path):
    loads = []
    model_file = tmp_path / "model.tar.gz"
    shutil.copy(MODEL, model_file)
    model = ModelLoadedBeforeFork(counting_loads(loads))
    model.preload(str(model_file))
    preloaded = model.loaded[1]
    assert model(str(model_file)) is preloaded and model(model_file) is preloaded
    assert len(loads) == 1

    os.utime(model_file, ns=(time.time_ns() + 10**9,) * 2)  # trained again
    assert model(str(model_file)) is not preloaded
    assert model(str(tmp_path)) is not preloaded  # a folder: Rasa picks its latest model
    assert loads == [str(model_file), str(model_file), str(tmp_path)]


def test_a_model_running_tensorflow_is_loaded_by_each_worker(tmp_path):
    """TensorFlow started before a fork leaves the worker's first prediction waiting forever."""
    assert uses_tensorflow(DIETClassifier) and uses_tensorflow(TEDPolicy)
    assert not any(uses_tensorflow(component) for component in (
        RulePolicy, LinearIntentClassifier, SpacyNLP, FallbackClassifier))
    with tarfile.open(MODEL) as archive:
        archive.extractall(tmp_path / "model")
    metadata_file = tmp_path / "model" / "metadata.json"
    metadata = json.loads(metadata_file.read_text())
    nodes = metadata["predict_schema"]["nodes"]
    nodes["run_DIETClassifier"] = {**next(iter(nodes.values())),
                                   "uses": "rasa.nlu.classifiers.diet_classifier.DIETClassifier"}
    metadata_file.write_text(json.dumps(metadata))
    with tarfile.open(tmp_path / "diet.tar.gz", "w:gz") as archive:
        for path in (tmp_path / "model").iterdir():
            archive.add(path, arcname=path.name)
    loads = []
    model = ModelLoadedBeforeFork(counting_loads(loads))
    model.preload(str(tmp_path / "diet.tar.gz"))
    assert model.loaded is None and loads == []
    model(str(tmp_path / "diet.tar.gz"))
    assert loads == [str(tmp_path / "diet.tar.gz")]  # in the worker, after the fork


def test_a_worker_that_dies_stops_the_server_and_a_killed_server_takes_its_workers(
        tmp_path):
    bot = Assistant(tmp_path)
    try:
        bot.wait_until_ready()  # one worker answers, the other may still be loading
        parent = bot._processes[1]
        worker = process_tree(bot.rasa_pid)[1]
        os.kill(worker, signal.SIGKILL)
        assert parent.wait(timeout=60) != 0  # the others stopped with it: a supervisor restarts
        assert process_tree(bot.rasa_pid) == [bot.rasa_pid]

        bot.start_rasa()
        bot.wait_until_ready()
        children = process_tree(bot.rasa_pid)[1:]
        bot.kill_rasa()  # SIGKILL: no chance to stop its workers
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in children):
            assert time.monotonic() < deadline, "a worker outlived its parent"
            time.sleep(0.1)
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{bot.url}/", timeout=5)
    finally:
        bot.stop()
