"""SQLite files readable by their owner only: the embedded stores hold every conversation."""
import os
from pathlib import Path
from typing import Optional, Text


def owner_only_sqlite(db: Optional[Text]) -> None:
    """Creates the database file with mode 600, or narrows an existing one (and its log files).
    SQLite creates a database's -wal and -shm files with the database file's own mode, so they
    follow it; the process's umask would otherwise leave all three readable by every user."""
    if not db or db == ":memory:" or db.startswith("file:"):
        return
    os.close(os.open(db, os.O_CREAT | os.O_RDWR, 0o600))
    for path in (Path(db), Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal")):
        if path.exists():
            path.chmod(0o600)
