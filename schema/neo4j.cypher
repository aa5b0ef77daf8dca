// The Neo4j schema of graph-service: applied idempotently by Neo4jStore on first use.
// Statements are separated by ';'. Lines starting with '//' are comments.
// graph_service/adapters/neo4j.cypher is the copy the package ships and reads;
// schema/neo4j.cypher must stay identical to it (a test checks).
//
// Model:
//   (:Division {code, name, level, changed_in})-[:PART_OF]->(:Division)
//   (:Station {id, name, level, status, opened_on, closed_on, staff, certified_staff, volunteers,
//              version, changed_in})-[:SITS_IN]->(:Division)
//   (:Station)-[:REPORTS_TO]->(:Station)   one dated REPORTS_TO {from, to} per reporting line to a
//                                    station when an edition changed the line (spec §6)
//   (:Station {..., changed_in < 0})   a large station write's row, stamped with its token: committed
//                                    hidden before the write publishes it (see neo4j_store)
//   (:PendingWrite {token, until})   such a write's token, and until when it may publish
//   (:PublishedWrite {token, version})   the same node once the write has published its rows: the data
//                                    version they were written in (they keep the token)
//   (:PackedStations {version, stations})   a large station write's stations in one value (catch-ups)
//   (:Meta {key: 'data', version})   the data version, bumped by every write
//   (:AuditWrite {version, at, actor, role, operation})   the audit trail: one node per write,
//   (:AuditEntry {seq, station, operation?, before, after, within})   one per changed station
//   (:AuditBatch {version, first, count, entries, kind, low, high, targets?})
//                                    changed divisions, a batch of entries per node (compressed), and
//                                    so the changed stations of a write of 1,000 stations or more
//                                    (kind 'station', with `targets`: the station ids in the batch;
//                                    a batch without a kind holds divisions)
// Dates are Neo4j Date values; levels and statuses are the lower-case names of the spec.

CREATE CONSTRAINT division_code_unique IF NOT EXISTS
FOR (d:Division) REQUIRE d.code IS UNIQUE;

CREATE CONSTRAINT station_id_unique IF NOT EXISTS
FOR (s:Station) REQUIRE s.id IS UNIQUE;

CREATE CONSTRAINT meta_key_unique IF NOT EXISTS
FOR (m:Meta) REQUIRE m.key IS UNIQUE;

CREATE INDEX division_changed_in IF NOT EXISTS
FOR (d:Division) ON (d.changed_in);

CREATE INDEX station_changed_in IF NOT EXISTS
FOR (s:Station) ON (s.changed_in);

CREATE INDEX published_write_token IF NOT EXISTS
FOR (w:PublishedWrite) ON (w.token);

CREATE INDEX audit_seq IF NOT EXISTS
FOR (a:AuditEntry) ON (a.seq);

CREATE INDEX audit_station IF NOT EXISTS
FOR (a:AuditEntry) ON (a.station);

CREATE INDEX audit_write_version IF NOT EXISTS
FOR (w:AuditWrite) ON (w.version);

CREATE INDEX audit_batch_first IF NOT EXISTS
FOR (b:AuditBatch) ON (b.first);
