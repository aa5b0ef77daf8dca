"""Damaging a seeded store by hand, as an older version or a hand edit would leave it (issue 9): rows
today's rules refuse, written straight into SQLite or Neo4j."""

from __future__ import annotations

import sqlite3

from graph_service.ports import Store
from tests.support.stores import neo4j_auth


def damage(store: Store) -> None:
    """Write rows today's rules refuse straight into the store: staff at 2147483647, a bad date, a
    station with a dangling link, a division under a division of its own level, and a station that
    depends on that division."""
    if store.url.startswith("sqlite"):
        with sqlite3.connect(store.path) as conn:  # type: ignore[attr-defined]
            rows = [
                ("VR-HUGE", "522324002002", "TS-522324002", "2023-01-01", 2147483647),
                ("VR-BADDATE", "522324002002", "TS-522324002", "not-a-date", 1),
                ("VR-ORPHAN", "522324002002", "GHOST", "2023-03-01", 1),
                ("VR-DEP", "522324002009", "TS-522324002", "2023-04-01", 1),
            ]
            conn.executemany(
                "INSERT INTO stations (id, name, level, division_code, parent_id, status, opened_on, "
                "closed_on, staff, certified_staff, volunteers, version, changed_in) "
                "VALUES (?, '坏', 'village_room', ?, ?, 'operating', ?, NULL, ?, 0, 0, 3, 0)",
                rows,
            )
            conn.execute(
                "INSERT INTO divisions (code, name, level, parent_code, changed_in) "
                "VALUES ('522324002009', '坏社区', 'village', '522324002001', 0)"
            )
        return
    from neo4j import GraphDatabase

    with GraphDatabase.driver(store.url, auth=neo4j_auth()) as driver, driver.session() as session:
        session.run(
            """
            MATCH (v:Division {code: '522324002002'}), (t:Station {id: 'TS-522324002'}),
                  (wrong:Division {code: '522324002001'})
            CREATE (h:Station {id: 'VR-HUGE', name: '坏', level: 'village_room', status: 'operating',
                               opened_on: date('2023-01-01'), staff: 2147483647, certified_staff: 0,
                               volunteers: 0, version: 3, changed_in: 0})
            CREATE (h)-[:SITS_IN]->(v), (h)-[:REPORTS_TO]->(t)
            CREATE (b:Station {id: 'VR-BADDATE', name: '坏', level: 'village_room', status: 'operating',
                               opened_on: 'not-a-date', staff: 1, certified_staff: 0, volunteers: 0,
                               version: 3, changed_in: 0})
            CREATE (b)-[:SITS_IN]->(v), (b)-[:REPORTS_TO]->(t)
            CREATE (o:Station {id: 'VR-ORPHAN', name: '坏', level: 'village_room', status: 'operating',
                               opened_on: date('2023-03-01'), staff: 1, certified_staff: 0,
                               volunteers: 0, version: 3, changed_in: 0})
            CREATE (o)-[:REPORTS_TO]->(t)
            CREATE (d:Division {code: '522324002009', name: '坏社区', level: 'village', changed_in: 0})
            CREATE (d)-[:PART_OF]->(wrong)
            CREATE (s:Station {id: 'VR-DEP', name: '坏', level: 'village_room', status: 'operating',
                               opened_on: date('2023-04-01'), staff: 1, certified_staff: 0,
                               volunteers: 0, version: 3, changed_in: 0})
            CREATE (s)-[:SITS_IN]->(d), (s)-[:REPORTS_TO]->(t)
            """
        ).consume()
