"""The Neo4j store's Cypher statements (the data model is described in `neo4j_store`).

Station rows are lists in `STORED_STATION_COLUMNS` order, and every statement on them is derived from
that list (`graph_service.domain.station_fields`): the division code and the parent id are links,
the other fields properties."""

from __future__ import annotations

from graph_service.domain.audit import DIVISION_KIND, STATION_KIND
from graph_service.domain.station_fields import (
    COUNT_COLUMNS,
    DATE_COLUMNS,
    STORED_STATION_COLUMNS,
    FieldKind,
    columns_of,
)
from graph_service.ports import AUDIT_SEQ_STRIDE

# Bumps the data version and holds the Meta node's write lock until the transaction ends; then, the lock
# held, reads what a write's basis is checked against every time (`WriteBasis.verify`): the latest
# edition applied to each province (as READ_EDITIONS, rows of [province, day, digest]).
BUMP_VERSION = """
MERGE (m:Meta {key: 'data'}) ON CREATE SET m.version = 0
SET m.version = m.version + 1
WITH m.version AS version
RETURN version, COLLECT { MATCH (e:Edition) RETURN [e.province, e.day, e.digest] } AS editions
"""
# A large station write takes the lock last (see `Neo4jTransactions.write`): its rows are stamped with a
# pending token (negative: never a data version), and it publishes them by making its PendingWrite node
# a `(:PublishedWrite {token, version})` node with the version it got, one node whatever the rows
# (`PUBLISHED_STATION`, `CURRENT_STATION` and `PUBLISHED_TOKENS` read a row's version through it).
# Giving the version to every row took 0.17 s for 50,000, and its commit 0.23 s more, with the lock
# held, idle (over 2 s under load, and the writes behind it gave up). The node changes label, so that a
# process of an earlier version, which discards the rows of any PendingWrite node past its time, never
# takes a published write's for a dead one's. The write's packed stations (`WRITE_PACKED_STATIONS`),
# when it has them, are given the version too. Its new stations were committed before, hidden
# (`PENDING_WRITE`): the node's lock is taken first, as `DISCARD_PENDING` takes it; `pending` says
# whether the node was still there and `rows` how many rows the token has (if fewer than it wrote, they
# were discarded meanwhile).
PUBLISH_STATIONS = """
OPTIONAL MATCH (pending:PendingWrite {token: $token})
SET pending:PublishedWrite, pending.version = $version
REMOVE pending:PendingWrite, pending.until
WITH count(pending) AS pending
CALL () {
  OPTIONAL MATCH (packed:PackedStations {version: $token})
  SET packed.version = $version
  RETURN count(packed) AS packs
}
RETURN pending, COUNT { MATCH (s:Station) WHERE s.changed_in = $token } AS rows
"""
# A large station write's new stations are committed before its locked transaction, hidden from every
# read by their pending token, with a PendingWrite node naming the token and how long the write may
# still take. Rows of a write that ended without publishing them are discarded by it or, if it could
# not (the process or Neo4j died), by the next large write or load once that time is up; the
# PendingWrite node's lock is taken first, and a node found published once it is held is left alone.
# A station's row is published unless its `changed_in` is a token not published (yet); it was last
# written at or before data version $upto (`current`) if its `changed_in`, or its token's version, is
# at most $upto (a row without a readable `changed_in` counts as both). The subquery runs for a token's
# rows only: a CASE evaluates the branch it takes, no other.
_TOKEN_PUBLISHED = "EXISTS {{ MATCH (w:PublishedWrite {{token: s.changed_in}}) {} }}"
PUBLISHED_STATION = f"CASE WHEN s.changed_in < 0 THEN {_TOKEN_PUBLISHED.format('')} ELSE true END"
"""Whether station `s` is published: not committed hidden by a write that has yet to publish it."""
CURRENT_STATION = (
    f"CASE WHEN s.changed_in < 0 THEN {_TOKEN_PUBLISHED.format('WHERE w.version <= $upto')} "
    "ELSE coalesce(s.changed_in <= $upto, true) END"
)
"""Whether station `s` was last written at or before data version `$upto`."""
# The tokens of the large writes published in the versions above $since up to $upto, and those versions.
PUBLISHED_TOKENS = """
MATCH (w:PublishedWrite) WHERE w.version > $since AND w.version <= $upto
RETURN w.version AS version, w.token AS token
"""
PENDING_WRITE = """
CREATE (:PendingWrite {token: $token, until: datetime() + duration({seconds: $seconds})})
"""
DISCARD_PENDING = """
MATCH (pending:PendingWrite) WHERE pending.token = $token OR ($token IS NULL AND pending.until < datetime())
SET pending.discarding = true
REMOVE pending.discarding
WITH pending WHERE pending.version IS NULL
CALL (pending) {
  MATCH (s:Station) WHERE s.changed_in = pending.token
  DETACH DELETE s
}
DELETE pending
"""
# Takes the same lock without changing anything, so no write can interleave with a read. The lock is
# taken by writing a property that is removed again, and the version read only then: `SET m.version =
# m.version` read the version before waiting for the lock and wrote that stale value back once it had
# it, undoing a write that committed meanwhile (the next write then reused its data version: two
# AuditWrite nodes of one version, an audit entry listed twice, and changes a follower never saw).
LOCK_VERSION = """
MERGE (m:Meta {key: 'data'}) ON CREATE SET m.version = 0
SET m.locked = true
REMOVE m.locked
RETURN m.version AS version
"""
# The latest edition of the division table applied to each province (spec §6), one node per province.
WRITE_EDITIONS = """
UNWIND $rows AS row
MERGE (e:Edition {province: row.province})
SET e.day = row.day, e.digest = row.digest
"""
# A division's dated name history (spec §6), as two parallel lists on its node: the names, and the
# days each holds from ('' for "from the start").
WRITE_NAMES = """
UNWIND $rows AS row
MATCH (d:Division {code: row.code})
SET d.names = row.names, d.names_from = row.names_from
"""
READ_NAMES = """
UNWIND $codes AS code
MATCH (d:Division {code: code}) WHERE d.names IS NOT NULL
RETURN d.code AS code, d.names AS names, d.names_from AS names_from
"""
# Successor links (spec §6): (old)-[:SUCCEEDED_BY {position}]->(new), replaced whole per old code.
WRITE_SUCCESSORS = """
UNWIND $rows AS row
MATCH (o:Division {code: row.old_code})
SET o.changed_in = $version
WITH o, row
OPTIONAL MATCH (o)-[old:SUCCEEDED_BY]->()
DELETE old
WITH DISTINCT o, row
UNWIND range(0, size(row.new_codes) - 1) AS position
MATCH (n:Division {code: row.new_codes[position]})
CREATE (o)-[:SUCCEEDED_BY {position: position}]->(n)
"""
READ_SUCCESSORS = """
UNWIND $codes AS code
MATCH (o:Division {code: code})-[r:SUCCEEDED_BY]->(n)
RETURN o.code AS code, n.code AS other ORDER BY code, r.position
"""
ALL_SUCCESSORS = """
MATCH (o:Division)-[r:SUCCEEDED_BY]->(n)
WITH o, r, n ORDER BY o.code, r.position
RETURN o.code AS code, collect(n.code) AS others
"""
READ_PREDECESSORS = """
UNWIND $codes AS code
MATCH (o)-[:SUCCEEDED_BY]->(n:Division {code: code})
RETURN n.code AS code, o.code AS other ORDER BY code, other
"""
READ_EDITIONS = "MATCH (e:Edition) RETURN e.province AS province, e.day AS day, e.digest AS digest"
READ_VERSION = "OPTIONAL MATCH (m:Meta {key: 'data'}) RETURN coalesce(m.version, 0) AS version"

WRITE_DIVISION_NODES = """
UNWIND $rows AS row
MERGE (d:Division {code: row.code})
SET d.name = row.name, d.level = row.level, d.valid_from = row.valid_from, d.valid_to = row.valid_to,
    d.changed_in = $version
"""
# The far end of a link from a bound node is left without a label on purpose: with a label and a
# predicate on its indexed key, a planner working from stale statistics (e.g. just after a large
# import) may scan that whole index for every row instead of following the node's few links.
WRITE_DIVISION_LINKS = """
UNWIND $rows AS row
MATCH (d:Division {code: row.code})
OPTIONAL MATCH (d)-[old:PART_OF]->(former)
  WHERE row.parent_code IS NULL OR former.code <> row.parent_code
DELETE old
WITH DISTINCT d, row
OPTIONAL MATCH (p:Division {code: row.parent_code})
FOREACH (_ IN CASE WHEN p IS NULL THEN [] ELSE [1] END | MERGE (d)-[:PART_OF]->(p))
RETURN collect(
  CASE WHEN row.parent_code IS NOT NULL AND p IS NULL
  THEN row.code + ' names parent ' + row.parent_code END
)[..5] AS missing
"""
# Station rows are lists in `STORED_STATION_COLUMNS` order (`station_row`), every Cypher statement on
# them derived from that list: the division code and the parent id are links, the rest properties.
_DIVISION_COLUMN, _PARENT_COLUMN = columns_of(FieldKind.DIVISION)[0], columns_of(FieldKind.STATION)[0]
_AT = {column: f"row[{index}]" for index, column in enumerate(STORED_STATION_COLUMNS)}
_ID, _IN, _TO = _AT[STORED_STATION_COLUMNS[0]], _AT[_DIVISION_COLUMN], _AT[_PARENT_COLUMN]


def _linked_to_division_and_parent(verb: str) -> str:
    """The end of a statement over `row`s with a station `s`: link `s` to the division and the parent
    station its row names, with `verb` (MERGE or CREATE), and return up to five messages naming each
    kind of link whose other end is not stored."""
    return f"""OPTIONAL MATCH (d:Division {{code: {_IN}}})
OPTIONAL MATCH (p:Station {{id: {_TO}}})
FOREACH (_ IN CASE WHEN d IS NULL THEN [] ELSE [1] END | {verb} (s)-[:SITS_IN]->(d))
FOREACH (_ IN CASE WHEN p IS NULL THEN [] ELSE [1] END | {verb} (s)-[:REPORTS_TO]->(p))
RETURN
  collect(CASE WHEN d IS NULL THEN 'station ' + {_ID} + ' sits in ' + {_IN} END)[..5] AS no_division,
  collect(
    CASE WHEN {_TO} IS NOT NULL AND p IS NULL THEN 'station ' + {_ID} + ' reports to ' + {_TO} END
  )[..5] AS no_parent
"""


_PROPERTIES = tuple(c for c in STORED_STATION_COLUMNS[1:] if c not in (_DIVISION_COLUMN, _PARENT_COLUMN))


def _date_text(value: str) -> str:
    """A stored date read back as ISO text when it is a Neo4j Date (anything else as it is, for
    `neo4j_rows.to_date` to read or refuse): the driver makes a `neo4j.time.Date` of every Date it
    receives, which cost a catch-up of 50,000 stations a third of its reading CPU, where
    `date.fromisoformat` of the text costs next to nothing."""
    return f"CASE WHEN {value} IS :: DATE THEN toString({value}) ELSE {value} END"


_STATION_PROJECTION = (
    "["
    + ", ".join(
        "d.code"
        if c == _DIVISION_COLUMN
        else "p.id"
        if c == _PARENT_COLUMN
        else _date_text(f"s.{c}")
        if c in DATE_COLUMNS
        else f"s.{c}"
        for c in STORED_STATION_COLUMNS
    )
    + ", [(s)-[h:SITS_IN]->(x) WHERE h.from IS NOT NULL OR h.to IS NOT NULL"
    + f" | [x.code, {_date_text('h.from')}, {_date_text('h.to')}]]"
    + ", [(s)-[r:REPORTS_TO]->(x) WHERE r.from IS NOT NULL OR r.to IS NOT NULL"
    + f" | [x.id, {_date_text('r.from')}, {_date_text('r.to')}]]]"
)
"""A station read back: `s` with its division `d` and parent `p`, as a row of `STORED_STATION_COLUMNS`,
then its placement history (spec §6: a moved station's SITS_IN links carry `from`/`to`; empty for a
station that always sat where it sits), then its dated reporting lines (REPORTS_TO links with
`from`/`to`; the lines to nobody are the gaps between them). Dates come as ISO text (`_date_text`)."""
_DIVISION_PROJECTION = (
    f"[d.code, d.name, d.level, p.code, {_date_text('d.valid_from')}, {_date_text('d.valid_to')}]"
)
"""A division read back: `d` with its parent `p`, as (code, name, level, parent code, valid from,
valid to), the dates as ISO text (`_date_text`)."""
_LINKS_NOW = """OPTIONAL MATCH (s)-[now:SITS_IN]->(d) WHERE now.to IS NULL
OPTIONAL MATCH (s)-[reports:REPORTS_TO]->(p) WHERE reports.to IS NULL"""
"""The division a station sits in and the station it reports to now: its SITS_IN and REPORTS_TO links
without a `to`."""


def _dated_links(link: str, target: str, key: str) -> str:
    """The statement writing stations' histories of dated `link`s to `target` nodes (found by `key`),
    spec §6: one link per `row.entries` entry, with its `from`/`to`, replacing every `link` the station
    had. (A stored station written without such a history has the dates taken off its one link by
    `WRITE_STATION_LINKS`.)"""
    return f"""
UNWIND $rows AS row
MATCH (s:Station {{id: row.id}})
OPTIONAL MATCH (s)-[old:{link}]->()
DELETE old
WITH DISTINCT s, row
UNWIND row.entries AS entry
MATCH (t:{target} {{{key}: entry.key}})
CREATE (s)-[:{link} {{from: entry.from, to: entry.to}}]->(t)
"""


# The placement history of stations an edition moved: one SITS_IN per placement, the current one
# without `to`.
WRITE_PLACEMENTS = _dated_links("SITS_IN", "Division", "code")
# The reporting history of stations whose line an edition changed: one REPORTS_TO per line to a
# station (a line to nobody has no link), the current one without `to`.
WRITE_REPORTING_LINES = _dated_links("REPORTS_TO", "Station", "id")
WRITE_STATION_NODES = f"""
UNWIND $rows AS row
MERGE (s:Station {{id: {_ID}}})
SET {", ".join(f"s.{c} = {_AT[c]}" for c in _PROPERTIES)}, s.changed_in = $version
"""
# A stored station's links as its row has them: the division it sits in and the station it reports to,
# other SITS_IN and REPORTS_TO links deleted, the dates of those it keeps taken off (a station written
# with a placement or reporting history has its dated links written afresh next, `WRITE_PLACEMENTS`).
_STATION_LINKS_OF_ROW = f"""OPTIONAL MATCH (s)-[old_in:SITS_IN]->(former_division)
  WHERE former_division.code <> {_IN}
OPTIONAL MATCH (s)-[old_to:REPORTS_TO]->(former_parent)
  WHERE {_TO} IS NULL OR former_parent.id <> {_TO}
DELETE old_in, old_to
WITH DISTINCT s, row
CALL (s) {{
  MATCH (s)-[dated:SITS_IN|REPORTS_TO]->() WHERE dated.from IS NOT NULL OR dated.to IS NOT NULL
  REMOVE dated.from, dated.to
}}
""" + _linked_to_division_and_parent("MERGE")
WRITE_STATION_LINKS = f"""
UNWIND $rows AS row
MATCH (s:Station {{id: {_ID}}})
{_STATION_LINKS_OF_ROW}"""
# The nodes and then the links of merged rows in one statement, for a write whose rows are all merged
# and fit one batch (a single update): every row's node is written before any row's links are (the
# planner finishes the MERGE first, as it reads Station nodes again after it), as with two statements.
WRITE_STATIONS_WHOLE = (
    WRITE_STATION_NODES
    + f"""WITH s, row
{_STATION_LINKS_OF_ROW}"""
)
# The fast path for rows whose key is not stored yet (a first seed, new divisions or stations): one
# statement creates a batch of nodes and links each to its parent, which an earlier statement of the
# write (or an earlier row of the same batch: CREATE before MATCH makes the planner finish the CREATE
# first) has already written, since such rows go parents first. Rows are lists, not maps, which is
# cheaper to send: [code, name, level, parent_code, valid_from, valid_to] and station rows as above.
# Answered from the count store, without reading nodes: on an empty store no key needs looking up.
COUNT_DIVISIONS = "MATCH (d:Division) RETURN count(d) AS count"
COUNT_STATIONS = "MATCH (s:Station) RETURN count(s) AS count"
EXISTING_DIVISIONS = """
UNWIND $keys AS key
MATCH (d:Division {code: key})
RETURN collect(d.code) AS keys
"""
CREATE_DIVISIONS = """
UNWIND $rows AS row
CREATE (d:Division {code: row[0], name: row[1], level: row[2], valid_from: row[4], valid_to: row[5],
                    changed_in: $version})
WITH d, row
OPTIONAL MATCH (p:Division {code: row[3]})
FOREACH (_ IN CASE WHEN p IS NULL THEN [] ELSE [1] END | CREATE (d)-[:PART_OF]->(p))
RETURN collect(CASE WHEN row[3] IS NOT NULL AND p IS NULL THEN row[0] + ' names parent ' + row[3] END)[..5]
  AS missing
"""
EXISTING_STATIONS = """
UNWIND $keys AS key
MATCH (s:Station {id: key})
RETURN collect(s.id) AS keys
"""
CREATE_STATIONS = f"""
UNWIND $rows AS row
CREATE (s:Station {{id: {_ID}, {", ".join(f"{c}: {_AT[c]}" for c in _PROPERTIES)}, changed_in: $version}})
WITH s, row
""" + _linked_to_division_and_parent("CREATE")
# One write's who, when and operation go once on an AuditWrite node; each changed row is an AuditEntry
# holding only its own values (a national import holds all of them in one transaction's memory). An
# entry carries `operation` only when it differs from its write's. Rows are in AUDIT_WRITE_COLUMNS and
# AUDIT_ENTRY_COLUMNS order; an entry's kind (row[2]) names the property its target goes in.
CREATE_AUDIT_WRITE = """
CREATE (:AuditWrite {version: $row[0], at: $row[1], actor: $row[2], role: $row[3], operation: $row[4]})
"""
CREATE_AUDIT = f"""
UNWIND $rows AS row
CREATE (:AuditEntry {{seq: row[0], operation: row[1], {STATION_KIND}: row[3], before: row[4], after: row[5],
                     within: row[6]}})
"""
# The write's node and its first `batch_size` entries in one statement (a single write's whole trail).
CREATE_AUDIT_WRITE_AND_ENTRIES = CREATE_AUDIT_WRITE + "WITH count(*) AS written" + CREATE_AUDIT
AUDIT_WRITE_OF_ENTRY = f"MATCH (w:AuditWrite {{version: a.seq / {AUDIT_SEQ_STRIDE}}})"
AUDIT_FIELDS = (
    "[a.seq, w.at, w.actor, w.role, coalesce(a.operation, w.operation), "
    f"CASE WHEN a.station IS NULL THEN '{DIVISION_KIND}' ELSE '{STATION_KIND}' END, "
    "coalesce(a.station, a.division), a.before, a.after]"
)
FIRST_AUDIT_WRITE_SINCE = "MATCH (w:AuditWrite) WHERE w.at >= $since RETURN min(w.version) AS version"
# Division entries (a national import makes 670,000 of them, more than one transaction's memory holds as
# nodes or as lists of strings), and the station entries of a large station write, are kept `batch_size`
# at a time in one AuditBatch node: `entries` is the zlib-compressed JSON array of the batch's entries
# (`pack_entries`); entry i has seq `first + i`; `kind` says whose entries they are (a batch written
# before stations were packed has none: division), `low` and `high` the lowest and highest target, and
# `targets` (stations only) every target, sorted. Many batches are created by one statement: each is a
# round trip, and a large import's 50 were made holding the write lock.
CREATE_AUDIT_BATCHES = """
UNWIND $batches AS b
CREATE (:AuditBatch {version: $version, first: b.first, count: b.count, entries: b.entries, kind: b.kind,
                     low: b.low, high: b.high, targets: b.targets})
"""
AUDIT_BATCH_KIND = f"coalesce(b.kind, '{DIVISION_KIND}')"
AUDIT_BATCH_ENTRIES = "MATCH (b:AuditBatch {first: $first}) RETURN b.entries AS entries"
AUDIT_BATCH_SINCE = " MATCH (w:AuditWrite {version: b.version}) WHERE w.at >= $since"
AUDIT_WRITES = """
MATCH (w:AuditWrite) WHERE w.version IN $versions
RETURN w.version AS version, w.at AS at, w.actor AS actor, w.role AS role, w.operation AS operation
"""
STORED_VERSIONS = """
UNWIND $ids AS id
MATCH (s:Station {id: id})
RETURN s.id AS id, s.version AS version
"""
# The same, once each station's write lock is held (as LOCK_VERSION does for Meta): a write that takes
# the version lock last checks its expected versions with this, so none can change before it commits.
LOCKED_VERSIONS = """
UNWIND $ids AS id
MATCH (s:Station {id: id})
SET s.locked = true
REMOVE s.locked
RETURN s.id AS id, s.version AS version
"""
# Whole-network reads go page by page in key order (the uniqueness index gives that order for
# free), each page one record holding a list of rows: far cheaper for the Python driver than one
# Bolt message per row.
# The load's pages (see `Neo4jStore.load`), each row with whether it was last written at or before data
# version $upto (`current`: a row without a readable `changed_in` counts as such); stations committed
# hidden (`PENDING_WRITE`) left out.
DIVISION_PAGE = f"""
MATCH (d:Division) WHERE d.code > $after
WITH d ORDER BY d.code LIMIT $limit
OPTIONAL MATCH (d)-[:PART_OF]->(p)
RETURN collect({_DIVISION_PROJECTION}) AS rows,
       collect(coalesce(d.changed_in <= $upto, true)) AS current
"""
STATION_PAGE = f"""
MATCH (s:Station) WHERE s.id > $after AND {PUBLISHED_STATION}
WITH s ORDER BY s.id LIMIT $limit
{_LINKS_NOW}
RETURN collect({_STATION_PROJECTION}) AS rows, collect({CURRENT_STATION}) AS current
"""
# Part of the network (see `Neo4jStore.load_part`), by index lookups, each statement one record of
# rows as the load's pages give them: divisions with every division above, stations by id, and the
# stations reporting (now) to given stations; stations committed hidden left out.
DIVISIONS_WITH_ANCESTORS = f"""
UNWIND $keys AS code
MATCH (:Division {{code: code}})-[:PART_OF*0..]->(d:Division)
WITH DISTINCT d
OPTIONAL MATCH (d)-[:PART_OF]->(p)
RETURN collect({_DIVISION_PROJECTION}) AS rows
"""
STATIONS_BY_ID = f"""
UNWIND $keys AS id
MATCH (s:Station {{id: id}}) WHERE {PUBLISHED_STATION}
{_LINKS_NOW}
RETURN collect({_STATION_PROJECTION}) AS rows
"""
STATIONS_REPORTING_TO = f"""
UNWIND $keys AS id
MATCH (:Station {{id: id}})<-[line:REPORTS_TO]-(s:Station) WHERE line.to IS NULL AND {PUBLISHED_STATION}
WITH DISTINCT s
{_LINKS_NOW}
RETURN collect({_STATION_PROJECTION}) AS rows
"""
# What all stations add at most to any roll-up total (`Neo4jStore.station_totals`): a value that is not
# a positive number counts as 0, summed as floats (no overflow, whatever a damaged store holds). Each
# count is read from the node once, into a map: reading it twice (compared, then converted) cost Neo4j
# twice the CPU, 3.2-3.4 against 1.4-1.7 s over 1.76 million stations.
STATION_TOTALS = (
    "MATCH (s:Station) WITH s {"
    + ", ".join(f".{c}" for c in COUNT_COLUMNS)
    + "} AS counts RETURN count(*) AS stations, "
    + ", ".join(
        f"sum(CASE WHEN counts.{c} > 0 THEN toFloat(counts.{c}) ELSE 0.0 END) AS {c}" for c in COUNT_COLUMNS
    )
)
# Changes are read through the changed_in indexes, those of versions up to $upto only (see
# `neo4j_store.Neo4jStore.changes_since`), in records of `CHANGES_CHUNK` rows each: one Bolt
# message per row would cost the driver seconds for a large import, and one message holding every row
# would hold the GIL while the driver decodes it (the event loop answering requests waits meanwhile).
DIVISIONS_CHANGED = f"""
MATCH (d:Division) WHERE d.changed_in > $since AND d.changed_in <= $upto
OPTIONAL MATCH (d)-[:PART_OF]->(p)
WITH collect({_DIVISION_PROJECTION}) AS rows
UNWIND range(0, size(rows) - 1, $chunk) AS start
RETURN rows[start..start + $chunk] AS rows
"""
# The stations are projected a record at a time (only the nodes are collected first), so Neo4j makes
# the next record while the driver decodes the last: 50,000 rows in 0.57-0.66 s against 0.75-0.80 s
# when every row was projected before the first was sent.
STATIONS_CHANGED = f"""
MATCH (s:Station) WHERE s.changed_in > $since AND s.changed_in <= $upto
WITH collect(s) AS written
UNWIND range(0, size(written) - 1, $chunk) AS start
CALL (written, start) {{
  UNWIND written[start..start + $chunk] AS s
  {_LINKS_NOW}
  RETURN collect({_STATION_PROJECTION}) AS rows
}}
RETURN rows
"""
# A catch-up of a few changes (up to $most rows), whole, in one statement run alone: the write lock taken
# as LOCK_VERSION takes it, the version `upto` read once it is held, the rows written above $since up to
# it counted, and, when there are at most $most of them, read (divisions with their successor links as
# [position, code] pairs, stations as STATIONS_CHANGED gives them). The stations of the versions kept
# packed (WRITE_PACKED_STATIONS) are neither counted nor read as rows: their packs come whole, as
# [version, pack] pairs, so a large import with a few writes beside it is caught up with in this one
# round trip (a catch-up from rows took six, just when Neo4j's collector stopped it for 0.1-0.4 s every
# second or so, under load). The stations are read a range of versions at a time between the packed ones,
# as `neo4j_reads._versions_between` makes them. Every read after the lock depends on `upto`, read after
# it, so none can be made before the lock is held. The rows of a large write published in those versions
# without a pack keep its token (`PUBLISH_STATIONS`): they are read as one more range, (token - 1, token].
# The lock is let go at the commit, once the record is sent. With more rows, none are read here
# (`Neo4jStore.changes_since` reads them without the lock), and they are counted only up to $most + 1 of
# each kind: counting a 50,000-row import's rows under the lock took 36-97 ms, idle, against 21-30 ms
# (each of a server's followers does it just after such an import commits, when writers queue for the
# lock).
FEW_CHANGES_LOCKED = f"""
MERGE (m:Meta {{key: 'data'}}) ON CREATE SET m.version = 0
SET m.locked = true
REMOVE m.locked
WITH m.version AS upto
CALL (upto) {{
  MATCH (packed:PackedStations) WHERE packed.version > $since AND packed.version <= upto
  RETURN collect(packed.version) AS packed, collect([packed.version, packed.stations]) AS packs
}}
CALL (upto, packed) {{
  MATCH (w:PublishedWrite) WHERE w.version > $since AND w.version <= upto AND NOT w.version IN packed
  RETURN collect([w.token - 1, w.token]) AS tokens
}}
WITH upto, packs,
     tokens + [span IN [low IN [$since] + packed |
        [low, reduce(high = upto, v IN packed | CASE WHEN v > low AND v - 1 < high THEN v - 1 ELSE high END)]
      ] WHERE span[1] > span[0]] AS ranges
WITH upto, packs, ranges,
     COUNT {{
       MATCH (d:Division) WHERE d.changed_in > $since AND d.changed_in <= upto RETURN d LIMIT $most + 1
     }}
     + COUNT {{
       UNWIND ranges AS span
       MATCH (s:Station) WHERE s.changed_in > span[0] AND s.changed_in <= span[1]
       RETURN s LIMIT $most + 1
     }}
     AS rows
CALL (upto, rows) {{
  MATCH (d:Division) WHERE rows <= $most AND d.changed_in > $since AND d.changed_in <= upto
  OPTIONAL MATCH (d)-[:PART_OF]->(p)
  RETURN collect({_DIVISION_PROJECTION}) AS divisions,
         collect([d.code, [(d)-[r:SUCCEEDED_BY]->(n) | [r.position, n.code]]]) AS links
}}
CALL (ranges, rows) {{
  UNWIND CASE WHEN rows <= $most THEN ranges ELSE [] END AS span
  MATCH (s:Station) WHERE s.changed_in > span[0] AND s.changed_in <= span[1]
  {_LINKS_NOW}
  RETURN collect({_STATION_PROJECTION}) AS stations
}}
RETURN upto AS version, rows, divisions, links, stations,
       CASE WHEN rows <= $most THEN packs ELSE [] END AS packs
"""
# What a write's basis is checked against (`domain.write_basis.WrittenSince`): codes and places only.
DIVISION_CODES_CHANGED = "MATCH (d:Division) WHERE d.changed_in > $since RETURN d.code AS code"
_STATION_PLACE = f"""{_LINKS_NOW}
RETURN s.id AS id, d.code AS division_code, p.id AS parent_id, s.level AS level"""
"""Where station `s` sits and what it is now: what a write's basis is checked against."""
STATION_PLACES_CHANGED = f"""
CALL () {{
  MATCH (s:Station) WHERE s.changed_in > $since RETURN s
  UNION
  MATCH (w:PublishedWrite) WHERE w.version > $since
  MATCH (s:Station) WHERE s.changed_in = w.token RETURN s
}}
WITH s WHERE $ids IS NULL OR s.id IN $ids
{_STATION_PLACE}
"""
# The same for a few stations named by id, found by id: just after a large write published, the
# statement above reads all of its rows (50,000: 35 ms idle, longer on a busy store) to keep a few,
# and a write verifying its basis runs it holding the write lock.
STATION_PLACES_CHANGED_OF = f"""
UNWIND $ids AS id
MATCH (s:Station {{id: id}})
WHERE CASE WHEN s.changed_in < 0 THEN {_TOKEN_PUBLISHED.format("WHERE w.version > $since")}
      ELSE s.changed_in > $since END
{_STATION_PLACE}
"""
# A large station write's stations, packed on one node beside their rows (`neo4j_rows.pack_stations`),
# so a catch-up reads one value instead of a row per station (see `read_changes`). Only the newest
# $kept packs are kept besides the one written: a reader further behind reads the rows.
WRITE_PACKED_STATIONS = """
CREATE (:PackedStations {version: $version, stations: $stations})
WITH 1 AS written
MATCH (packed:PackedStations) WHERE packed.version > 0
WITH packed ORDER BY packed.version DESC SKIP $kept
DELETE packed
"""
PACKED_STATIONS_CHANGED = """
MATCH (packed:PackedStations) WHERE packed.version > $since AND packed.version <= $upto
RETURN packed.version AS version, packed.stations AS stations ORDER BY version
"""
CHANGES_CHUNK = 2_000
"""How many changed rows one record of `changes_since` carries."""
