"""The questions of spec §3 asked the way a user without this service would: one Cypher aggregation
straight to Neo4j over the official driver, on the graph the Neo4j store keeps
(`(:Division)-[:PART_OF]->(:Division)`, `(:Station)-[:SITS_IN]->(:Division)`, dates as Neo4j Dates).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from neo4j import Driver, GraphDatabase

from graph_service.service_layer.settings import Settings

COVERAGE_LEVELS = ("city", "county", "township", "village")
STATION_LEVELS = ("guidance_centre", "general_station", "township_station", "village_room")

_OWN_STATION_LEVEL = """CASE d.level WHEN 'city' THEN 'guidance_centre' WHEN 'county' THEN 'general_station'
                      WHEN 'township' THEN 'township_station' WHEN 'village' THEN 'village_room' END"""

# Coverage of one division: every division below it, by level, and how many have an active station
# of their own level sitting in them.
_COUNT_COVERED = f"""WITH d, {_OWN_STATION_LEVEL} AS own
RETURN d.level AS level, count(d) AS total,
       count(CASE WHEN EXISTS {{
         MATCH (s:Station)-[:SITS_IN]->(d)
         WHERE s.level = own AND s.opened_on <= $day AND (s.closed_on IS NULL OR $day < s.closed_on)
       }} THEN 1 END) AS covered
"""
"""The divisions `d` matched, counted by level: all, and those an active station of their own level
sits in on $day."""

COVERAGE = "\nMATCH (d:Division)-[:PART_OF*1..]->(:Division {code: $code})\n" + _COUNT_COVERED

# The same over the whole country (every division that has a station level).
NATIONAL_COVERAGE = "\nMATCH (d:Division) WHERE d.level <> 'province'\n" + _COUNT_COVERED

# Roll-up of one division: the stations active on the day in it or below it.
ROLLUP = """
MATCH (d:Division)-[:PART_OF*0..]->(:Division {code: $code})
MATCH (s:Station)-[:SITS_IN]->(d)
WHERE s.opened_on <= $day AND (s.closed_on IS NULL OR $day < s.closed_on)
RETURN s.level AS level, count(s) AS stations, sum(s.staff) AS staff,
       sum(s.certified_staff) AS certified_staff, sum(s.volunteers) AS volunteers
"""


def driver(url: str) -> Driver:
    """A driver to `url` with the configured Neo4j credentials (no password: no authentication)."""
    settings = Settings.from_env(store_url=url)
    auth = (settings.neo4j_user, settings.neo4j_password) if settings.neo4j_password else None
    return GraphDatabase.driver(url, auth=auth, notifications_min_severity="OFF")


def run(drv: Driver, query: str, **params: Any) -> list[dict[str, Any]]:
    """The rows `query` returns, in the configured Neo4j database."""
    with drv.session(database=Settings.from_env().neo4j_database) as session:
        return session.run(query, **params).data()


def coverage(drv: Driver, code: str | None, day: date) -> list[tuple[str, int, int]]:
    """(level, total, covered) for each level below, top-down (the national figure when code is None)."""
    rows = run(drv, NATIONAL_COVERAGE, day=day) if code is None else run(drv, COVERAGE, code=code, day=day)
    found = {row["level"]: (int(row["total"]), int(row["covered"])) for row in rows}
    return [(level, *found.get(level, (0, 0))) for level in COVERAGE_LEVELS if level in found or code is None]


def rollup(drv: Driver, code: str, day: date) -> dict[str, int]:
    """The roll-up in the service's field names (camelCase)."""
    rows = {row["level"]: row for row in run(drv, ROLLUP, code=code, day=day)}
    counts = [int(rows[level]["stations"]) if level in rows else 0 for level in STATION_LEVELS]
    return {
        "guidanceCentres": counts[0],
        "generalStations": counts[1],
        "townshipStations": counts[2],
        "villageRooms": counts[3],
        "staff": sum(int(row["staff"]) for row in rows.values()),
        "certifiedStaff": sum(int(row["certified_staff"]) for row in rows.values()),
        "volunteers": sum(int(row["volunteers"]) for row in rows.values()),
    }


def node_counts(drv: Driver) -> dict[str, int]:
    """How many Division and Station nodes the database holds (to check nothing else wrote into it)."""
    rows = run(drv, "MATCH (d:Division) WITH count(d) AS d MATCH (s:Station) RETURN d, count(s) AS s")
    return {"divisions": int(rows[0]["d"]), "stations": int(rows[0]["s"])}


def server_version(drv: Driver) -> str:
    rows = run(drv, "CALL dbms.components() YIELD name, versions, edition RETURN name, versions, edition")
    return ", ".join(f"{r['name']} {'/'.join(r['versions'])} {r['edition']}" for r in rows)
