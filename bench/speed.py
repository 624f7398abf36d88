"""`make bench`: how fast the assistant answers, beside Rasa's default configuration.

Both configurations are trained from clean on the same data (config.yml, and `recipe: default.v1`
with no pipeline or policies). The project is started like `make run` starts it (the action
server and `python -m runtime run` with the windowed SQLite tracker store, through
harness/launcher.py's `Assistant`, plus `--enable-api` for `/model/parse`); the default's model is
served twice: by Rasa as shipped (`rasa run`, Rasa's SQL tracker store on SQLite), the baseline
the targets of docs/speed.md are set against, and like the project, which shows what the
configuration alone buys. Each is measured and stopped before the next. All traffic goes to
127.0.0.1 and is bounded in count. Prints a table with the project's figures also as ratios to
the other two, writes bench/results.json and draws bench/latency.png.

    .venv/bin/python bench/speed.py [--only project|default]
"""
import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import requests
import yaml

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
from compare_nlp import test_messages  # noqa: E402
from report import COLUMNS, render  # noqa: E402
from report import write as write_report  # noqa: E402

from harness.launcher import PROJECT, RASA, Assistant, listening_sockets, process_tree  # noqa: E402

# What users ask, in their own words and typos: questions, follow-ups, career questions, chit-chat.
QUESTIONS = [
    "hi", "what is kpo", "what is bpo", "which is the best one kpo or bpo?",
    "how do kpo and bpo differ", "what are the risks of bpo", "and for kpo?",
    "advantages of outsourcing to a kpo", "is kpo costly compared to bpo",
    "what qualification do i need for bpo", "how much does a bpo job pay in india",
    "how much does a kpo job pay?", "what industries use kpo", "examples of bpo work",
    "is there a future in KPO for me, I work in healthcare",
    "what jobs can I get after an M.Sc in computer science?", "what about bpo",
    "will automation replace bpo jobs", "how secure is my data with an outsourcing company",
    "can a company use both kpo and bpo", "what skills are needed for kpo",
    "which companies offer kpo services", "wat is diffrence btw kpo n bpo",
    "future of outsourcing", "how did bpo evolve into kpo", "where is the work done",
    "is bpo good for freshers", "thanks", "tell me a joke", "bye",
]
FALLBACK = "nlu_fallback"
CONVERSATION = 10  # messages per conversation in the single-user run
SINGLE_USER_MESSAGES = 300
LOADS = {20: 15, 100: 5}  # concurrent users -> messages each
LONG_CONVERSATION, BLOCK = 200, 20
DEFAULT_CONFIG = {"recipe": "default.v1", "language": "en", "assistant_id": "default-config"}
# Contract with issue 7: benchmarks switch rate limits off in the servers they start.
SERVER_ENV = {"ASSISTANT_RATE_LIMIT_SENDER": "0", "ASSISTANT_RATE_LIMIT_ADDRESS": "0"}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def percentiles(times) -> dict:
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "count": len(times)}


def train(config: Path, out: Path) -> tuple:
    """Trains from clean (a fresh cache, no previous model) as `make train` does; seconds."""
    env = {**os.environ, "RASA_CACHE_DIRECTORY": str(out / "cache"),
           "TF_CPP_MIN_LOG_LEVEL": "2", "RASA_TELEMETRY_ENABLED": "false"}
    started = time.monotonic()
    subprocess.run([str(RASA), "train", "--config", str(config), "--out", str(out),
                    "--fixed-model-name", "model"], cwd=PROJECT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started, out / "model.tar.gz"


def memory_mb(pid: int) -> dict:
    """Resident memory of a server's largest process, and the proportional set size of all its
    processes: the memory they take together, pages shared by forked workers counted once."""
    sizes = []
    for process in process_tree(pid):
        lines = Path(f"/proc/{process}/smaps_rollup").read_text().splitlines()
        sizes.append({line.split(":")[0]: int(line.split()[1]) / 1024 for line in lines[1:]})
    return {"largest_rss": max(size["Rss"] for size in sizes),
            "pss": sum(size["Pss"] for size in sizes)}


def start(workdir: Path, model: Path, shipped: bool) -> tuple:
    """Starts a configuration's servers; seconds until each is ready (polled every 50 ms)."""
    started = time.monotonic()
    bot = Assistant(workdir, model=model, env=SERVER_ENV, rasa_args=["--enable-api"],
                    shipped=shipped)
    ready = {}
    deadline = started + 300
    while len(ready) < 2 and time.monotonic() < deadline:
        if bot.has_exited():
            bot.stop()
            raise RuntimeError("a server exited at start: see tests/artifacts")
        if "actions" not in ready:
            try:
                requests.get(f"http://127.0.0.1:{bot.action_port}/health", timeout=1)
                ready["actions"] = time.monotonic() - started
            except requests.RequestException:
                pass
        if "rasa" not in ready:
            try:
                reply = requests.post(bot.webhook, json={"sender": "ready", "message": "hi"},
                                      headers=bot.rest_headers, timeout=5)
                # Ready when every worker listens: a keep-alive connection stays on the worker
                # that accepted it, and the benchmark's clients connect right after.
                workers = len(process_tree(bot.rasa_pid)) - 1 or 1
                if reply.ok and reply.json() and listening_sockets(bot.rasa_port) >= workers:
                    ready["rasa"] = time.monotonic() - started
            except requests.RequestException:
                pass
        time.sleep(0.05)
    if len(ready) < 2:
        bot.stop()
        raise TimeoutError("the servers were not ready within 300 s")
    return bot, ready


class Client:
    """One HTTP connection pool to Rasa; every call returns its latency in milliseconds."""

    def __init__(self, bot: Assistant) -> None:
        self.bot, self.headers = bot, bot.rest_headers
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=120))

    async def send(self, sender: str, text: str) -> tuple:
        """(milliseconds, "ok" | "error" | "empty")."""
        started = time.perf_counter()
        try:
            async with self.session.post(self.bot.webhook, headers=self.headers,
                                         json={"sender": sender, "message": text}) as response:
                body = await response.json(content_type=None)
                outcome = "ok" if response.status == 200 else "error"
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            body, outcome = None, "error"
        elapsed = (time.perf_counter() - started) * 1000
        if outcome == "ok" and not any(m.get("text") for m in body or []):
            outcome = "empty"
        return elapsed, outcome

    async def parse(self, text: str) -> tuple:
        started = time.perf_counter()
        async with self.session.post(f"{self.bot.url}/model/parse", headers=self.headers,
                                     json={"text": text}) as response:
            response.raise_for_status()
            body = await response.json()
        elapsed = (time.perf_counter() - started) * 1000
        # Scored like `rasa test nlu`: a fallback counts as the intent it fell back from.
        ranking = [i["name"] for i in body["intent_ranking"] if i["name"] != FALLBACK]
        fell_back = body["intent"]["name"] == FALLBACK
        return elapsed, ranking[0] if fell_back and ranking else body["intent"]["name"], fell_back

    async def close(self) -> None:
        await self.session.close()


async def nlu(client: Client) -> dict:
    """`/model/parse` latency, and intent accuracy, over the independent NLU test set."""
    times, hits, fallbacks, cases = [], 0, 0, list(test_messages())
    for intent, text in cases:
        elapsed, predicted, fell_back = await client.parse(text)
        times.append(elapsed)
        hits += predicted == intent
        fallbacks += fell_back
    return {"parse_ms": percentiles(times), "nlu_accuracy": hits / len(cases),
            "nlu_fallback_share": fallbacks / len(cases)}


async def single_user(client: Client, prefix: str) -> dict:
    times, outcomes = [], []
    for n in range(SINGLE_USER_MESSAGES):
        elapsed, outcome = await client.send(f"{prefix}-single-{n // CONVERSATION}",
                                             QUESTIONS[n % len(QUESTIONS)])
        times.append(elapsed)
        outcomes.append(outcome)
    return {**percentiles(times), "errors": outcomes.count("error"),
            "empty": outcomes.count("empty")}


async def concurrent_users(client: Client, prefix: str, users: int, messages: int) -> dict:
    times, outcomes = [], []

    async def user(number: int) -> None:
        for n in range(messages):
            elapsed, outcome = await client.send(f"{prefix}-{users}users-{number}",
                                                 QUESTIONS[(number * 7 + n) % len(QUESTIONS)])
            times.append(elapsed)
            outcomes.append(outcome)

    started = time.perf_counter()
    await asyncio.gather(*(user(n) for n in range(users)))
    wall = time.perf_counter() - started
    return {**percentiles(times), "replies_per_s": outcomes.count("ok") / wall,
            "errors": outcomes.count("error"), "empty": outcomes.count("empty"),
            "seconds": wall}


async def long_conversation(client: Client, prefix: str) -> dict:
    times = []
    for n in range(LONG_CONVERSATION):
        elapsed, _ = await client.send(f"{prefix}-long", QUESTIONS[n % len(QUESTIONS)])
        times.append(elapsed)
    blocks = [statistics.median(times[i:i + BLOCK]) for i in range(0, len(times), BLOCK)]
    return {"block_p50_ms": blocks, "last_over_first": blocks[-1] / blocks[0]}


async def measure(bot: Assistant, prefix: str) -> dict:
    client = Client(bot)
    try:
        figures = {"load_nlu": load(), **await nlu(client)}
        figures["single_user"] = {**await single_user(client, prefix), "load": load()}
        for users, messages in LOADS.items():
            figures[f"users_{users}"] = {
                **await concurrent_users(client, prefix, users, messages), "load": load()}
        figures["conversation_length"] = {**await long_conversation(client, prefix),
                                          "load": load()}
        return figures
    finally:
        await client.close()


def trained(name: str, config: Path, workdir: Path) -> tuple:
    """Trains a configuration from clean: its training figures, and the model."""
    print(f"[{name}] training ({config.name}), load {load()}", flush=True)
    load_before = load()
    training, model = train(config, workdir)
    print(f"[{name}] trained in {training:.0f} s", flush=True)
    return {"training_s": training, "load_training": load_before,
            "model_mb": model.stat().st_size / 2 ** 20}, model


def served(name: str, model: Path, workdir: Path, shipped: bool = False) -> dict:
    """Starts the servers on a trained model, measures them and stops them."""
    workdir.mkdir()
    bot, ready = start(workdir, model, shipped)
    try:
        print(f"[{name}] ready: rasa {ready['rasa']:.1f} s, actions {ready['actions']:.1f} s; "
              "measuring", flush=True)
        figures = {"ready_s": ready, "load_ready": load(), **asyncio.run(measure(bot, name))}
        figures["memory_mb"] = {"rasa": memory_mb(bot.rasa_pid),
                                "actions": memory_mb(bot.actions_pid)}
        return figures
    finally:
        bot.stop()


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 5))
    for (name, column), style in zip(COLUMNS.items(), ("-", ":", "--")):
        if name not in results:
            continue
        runs = [(1, results[name]["single_user"])] + [
            (users, results[name][f"users_{users}"]) for users in LOADS]
        for p, colour in (("p50", "tab:blue"), ("p95", "tab:orange")):
            axis.plot([u for u, _ in runs], [r[p] for _, r in runs], style, marker="o",
                      color=colour, label=f"{column} {p}")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xticks([1, *LOADS])
    axis.set_xticklabels(["1", *map(str, LOADS)])
    axis.set_xlabel("concurrent users (each on its own conversation)")
    axis.set_ylabel("REST reply latency, ms (action server included)")
    axis.set_title(f"KPO/BPO assistant vs Rasa's default configuration ({results['measured']})")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=7, ncol=1)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                .splitlines() if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(),
            "memory_gb": round(int(Path("/proc/meminfo").read_text().split()[1]) / 2 ** 20),
            "python": platform.python_version(), "load_at_start": load()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["project", "default"],
                        help="measure one configuration: the project, or the default (served both ways)")
    only = parser.parse_args().only
    results = {"measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "machine": machine()}
    with tempfile.TemporaryDirectory() as tmp:
        default_config = Path(tmp) / "default-config.yml"
        default_config.write_text(yaml.safe_dump(DEFAULT_CONFIG))
        for name, config in (("project", PROJECT / "config.yml"), ("default", default_config)):
            if only in (None, name):
                workdir = Path(tmp) / name
                workdir.mkdir()
                training, model = trained(name, config, workdir)
                results[name] = {**training, **served(name, model, workdir / "served")}
                if name == "default":  # the same model, on Rasa as shipped
                    results["shipped"] = {**training, **served(
                        "shipped", model, workdir / "shipped", shipped=True)}
    results["machine"]["load_at_end"] = load()
    (BENCH / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    plot(results, BENCH / "latency.png")
    print(render(results))
    print(f"wrote bench/results.json, bench/latency.png and "
          f"{write_report(results).relative_to(PROJECT)}")


if __name__ == "__main__":
    main()
