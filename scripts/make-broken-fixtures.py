#!/usr/bin/env python3
"""Regenerate fixtures/broken/: one bad input per file, each small and reproducible.

Run from the repository root: python3 scripts/make-broken-fixtures.py
"""
import gzip
import hashlib
import io
import json
import os
import sqlite3
import tempfile

OUT = "fixtures/broken"


def tiny_db() -> bytes:
    """A small, sound SQLite database with a table and an index spanning several pages."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "tiny.db")
        c = sqlite3.connect(path)
        c.executescript(
            """
            CREATE TABLE readings (id INTEGER PRIMARY KEY, system_id INTEGER NOT NULL,
                                   inverter_time INTEGER NOT NULL, solar_w INTEGER);
            CREATE UNIQUE INDEX readings_time ON readings (system_id, inverter_time);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
            INSERT INTO readings SELECT i, 1 + i % 3, 1762400000 + i * 60, (i * 37) % 9000 FROM n;
            """
        )
        c.commit()
        c.close()
        with open(path, "rb") as f:
            return f.read()


def gz(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as f:
        f.write(data)
    return buf.getvalue()


def write(name: str, data: bytes) -> None:
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    db = tiny_db()
    # a database that was never compressed, named as if it were
    write("not-gzip.db.gz", db)
    # a download cut short
    whole = gz(db)
    write("truncated.db.gz", whole[: len(whole) // 2])
    # a gzip of something that is not a database
    write("not-sqlite.db.gz", gz(b"system_id,inverter_time,solar_w\n1,1762400060,4312\n" * 50))
    # a database with a garbled page: the last cells of the index's root page
    c = sqlite3.connect(":memory:")
    c.close()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "x.db")
        with open(path, "wb") as f:
            f.write(db)
        c = sqlite3.connect(path)
        root = c.execute("SELECT rootpage FROM sqlite_schema WHERE name = 'readings_time'").fetchone()[0]
        page_size = c.execute("PRAGMA page_size").fetchone()[0]
        c.close()
    damaged = bytearray(db)
    end = root * page_size
    for i in range(end - 96, end):
        damaged[i] ^= 0x5A
    write("corrupt-page.db.gz", gz(bytes(damaged)))
    # a sound backup whose manifest records another file's sha256
    good = gz(db)
    write("manifest-mismatch.db.gz", good)
    manifest = {
        "file": "manifest-mismatch.db.gz",
        "source": "tiny.db",
        "created_utc": "2025-11-06T05:52:59Z",
        "sha256": hashlib.sha256(good + b"x").hexdigest(),
        "compressed_bytes": len(good),
        "uncompressed_bytes": len(db),
        "sqlite_version": sqlite3.sqlite_version,
        "preflight_version": "0.1.0",
        "tables": {"readings": 2000},
    }
    with open(os.path.join(OUT, "manifest-mismatch.manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
