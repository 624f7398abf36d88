"""Replicas starting together on one PostgreSQL (stores/tracker.py): each would create the
database and the tables Rasa's store needs, and each that lost the race logged an error."""
import gc
import logging
import threading
import uuid

import psycopg2
import pytest
from rasa.shared.core.domain import Domain

from harness.launcher import PROJECT
from harness.production_stores import POSTGRES, POSTGRES_USER, unreachable_services
from stores.tracker import WindowedSQLTrackerStore

REPLICAS = 4


@pytest.mark.skipif(any("PostgreSQL" in s for s in unreachable_services()),
                    reason="PostgreSQL does not answer on 127.0.0.1:5432")
def test_replicas_starting_together_make_the_store_once_and_log_no_error(caplog):
    domain = Domain.load(PROJECT / "domain.yml")
    database = f"starts_{uuid.uuid4().hex[:8]}"
    together = threading.Barrier(REPLICAS)

    def start() -> None:
        together.wait()
        WindowedSQLTrackerStore(domain=domain, dialect="postgresql", host=POSTGRES[0],
                                port=POSTGRES[1], username=POSTGRES_USER, db=database,
                                login_db="postgres")

    replicas = [threading.Thread(target=start) for _ in range(REPLICAS)]
    gc.collect()  # what earlier tests left behind logs now, not inside the window below
    try:
        with caplog.at_level(logging.WARNING):
            for replica in replicas:
                replica.start()
            for replica in replicas:
                replica.join()
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    finally:
        admin = psycopg2.connect(host=POSTGRES[0], port=POSTGRES[1], user=POSTGRES_USER,
                                 dbname="postgres")
        admin.autocommit = True
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{database}"')
        admin.close()
