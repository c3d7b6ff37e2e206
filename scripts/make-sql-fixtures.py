#!/usr/bin/env python3
"""Regenerate fixtures/sql/liveone-2025-08.db.gz: LiveOne as it was before the August 2025
vendor-timezone migration. `systems` is still keyed by local user and number; the app's schema
push has already added the new columns, NULL until the SQL migration fills them.

Run from the repository root: python3 scripts/make-sql-fixtures.py
"""
import gzip
import io
import os
import sqlite3
import tempfile

SCHEMA = """
CREATE TABLE systems (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id TEXT NOT NULL,
  system_number TEXT NOT NULL,
  display_name TEXT NOT NULL,
  model TEXT,
  serial TEXT,
  solar_size TEXT,
  battery_size TEXT,
  owner_clerk_user_id TEXT,
  vendor_type TEXT,
  vendor_site_id TEXT,
  timezone_offset_min INTEGER,
  created_at INTEGER NOT NULL DEFAULT (unixepoch()),
  updated_at INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE UNIQUE INDEX user_system_idx ON systems (user_id, system_number);
CREATE TABLE readings (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  system_id INTEGER NOT NULL,
  inverter_time INTEGER NOT NULL,
  received_time INTEGER NOT NULL,
  solar_w INTEGER,
  load_w INTEGER,
  battery_w INTEGER,
  grid_w INTEGER,
  battery_soc REAL,
  created_at INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE UNIQUE INDEX readings_system_inverter_time_unique ON readings (system_id, inverter_time);
CREATE TABLE polling_status (
  id integer PRIMARY KEY AUTOINCREMENT NOT NULL,
  system_id integer NOT NULL,
  last_poll_time integer,
  last_success_time integer,
  consecutive_errors integer DEFAULT 0 NOT NULL,
  total_polls integer DEFAULT 0 NOT NULL,
  successful_polls integer DEFAULT 0 NOT NULL,
  updated_at integer DEFAULT (unixepoch()) NOT NULL
);
CREATE TABLE user_systems (
  id integer PRIMARY KEY AUTOINCREMENT NOT NULL,
  clerk_user_id text NOT NULL,
  system_id integer NOT NULL,
  role text DEFAULT 'viewer' NOT NULL,
  created_at integer DEFAULT (unixepoch()) NOT NULL,
  updated_at integer DEFAULT (unixepoch()) NOT NULL
);
CREATE UNIQUE INDEX user_system_unique ON user_systems (clerk_user_id, system_id);
"""

START = 1756512000  # 2025-08-30 00:00 UTC


def build(path: str) -> None:
    c = sqlite3.connect(path)
    c.executescript(SCHEMA)
    c.execute(
        "INSERT INTO systems (id, user_id, system_number, display_name, model, serial, solar_size, battery_size, created_at, updated_at)"
        " VALUES (1, 'simon', '1586', 'Daylesford Farm', 'SP PRO 2i', 'SN314187', '12.7 kW', '38 kWh', 1722470400, 1722470400)"
    )
    for k in range(240):
        t = START + k * 60 + 7
        solar = max(0, int(4200 * (1 - abs(k - 120) / 120.0)))
        c.execute(
            "INSERT INTO readings (system_id, inverter_time, received_time, solar_w, load_w, battery_w, grid_w, battery_soc, created_at)"
            " VALUES (1, ?, ?, ?, ?, ?, 0, ?, ?)",
            (t, t + 3, solar, 650 + (k * 37) % 200, 650 - solar, round(60 + k / 10.0, 1), t + 4),
        )
    c.execute(
        "INSERT INTO polling_status (system_id, last_poll_time, last_success_time, consecutive_errors, total_polls, successful_polls, updated_at)"
        " VALUES (1, ?, ?, 0, 18211, 18190, ?)",
        (START + 239 * 60, START + 239 * 60, START + 239 * 60),
    )
    # a viewer someone invited earlier: the table's AUTOINCREMENT counter stands at 1
    c.execute(
        "INSERT INTO user_systems (clerk_user_id, system_id, role, created_at, updated_at)"
        " VALUES ('user_2nQh7YbKc1vW0ZsE3pLmA9xTfUd', 1, 'viewer', 1725000000, 1725000000)"
    )
    c.commit()
    c.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "liveone-2025-08.db")
        build(path)
        with open(path, "rb") as f:
            data = f.read()
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as f:
        f.write(data)
    with open("fixtures/sql/liveone-2025-08.db.gz", "wb") as f:
        f.write(buf.getvalue())


if __name__ == "__main__":
    main()
