-- 0002_orleans_clustering
--
-- Orleans membership (UseAdoNetClustering on silos, UseAdoNetClustering on clients) for Orleans 10.4.x.
-- Written for NHub from the provider's documented call contract (what it binds and what it reads back);
-- not derived from the Orleans repository's SQL scripts.
--
-- Model
--   * One OrleansMembershipVersionTable row per cluster (DeploymentId = ClusterOptions.ClusterId).
--     Its Version is THE etag of the whole membership table: every membership change (insert of a silo row,
--     update of status / suspicions) must present the Version it read and bumps it by one, atomically.
--     IAmAlive heartbeats deliberately do not bump it.
--   * One OrleansMembershipTable row per silo incarnation, keyed by (DeploymentId, Address, Port, Generation).
--     Status is Orleans.Runtime.SiloStatus as int: 1 Created, 2 Joining, 3 Active, 4 ShuttingDown,
--     5 Stopping, 6 Dead. SuspectTimes is Orleans' own "silo,date|silo,date" text, stored verbatim.
--
-- Parameters bound by the provider (names are exact):
--   @DeploymentId text, @Address text (IP as string), @Port int, @Generation int, @SiloName text,
--   @HostName text, @Status int, @ProxyPort int, @SuspectTimes text (may be NULL),
--   @StartTime / @IAmAliveTime DateTime UTC (DbType.DateTime -> timestamptz in Npgsql 6+), @Version int.
--
-- Result conventions the provider relies on:
--   * Insert/Update keys: exactly ONE row with exactly ONE column; non-zero / true = success.
--     (The provider does .First() and insists on a single column.)
--   * Read keys: the version row LEFT JOINed to silo rows, so the table version comes back even when
--     no silo row matches; a row whose StartTime is NULL means "no silo here, only the version".
--   * Timestamps are read with GetDateTime and re-tagged as UTC, so timestamptz is the natural type.

CREATE TABLE OrleansMembershipVersionTable
(
    DeploymentId text        NOT NULL,
    Timestamp    timestamptz NOT NULL DEFAULT now(),
    Version      integer     NOT NULL DEFAULT 0,
    CONSTRAINT pk_orleansmembershipversiontable PRIMARY KEY (DeploymentId)
);

COMMENT ON TABLE OrleansMembershipVersionTable IS
    'Orleans clustering: one row per cluster; Version is the membership table etag, bumped by every membership change (not by heartbeats).';

CREATE TABLE OrleansMembershipTable
(
    DeploymentId text        NOT NULL,
    Address      text        NOT NULL,
    Port         integer     NOT NULL,
    Generation   integer     NOT NULL,
    SiloName     text        NOT NULL,
    HostName     text        NOT NULL,
    Status       integer     NOT NULL,
    ProxyPort    integer     NULL,
    SuspectTimes text        NULL,
    StartTime    timestamptz NOT NULL,
    IAmAliveTime timestamptz NOT NULL,
    CONSTRAINT pk_orleansmembershiptable PRIMARY KEY (DeploymentId, Address, Port, Generation),
    CONSTRAINT fk_orleansmembershiptable_version FOREIGN KEY (DeploymentId)
        REFERENCES OrleansMembershipVersionTable (DeploymentId) ON DELETE CASCADE
);

COMMENT ON TABLE OrleansMembershipTable IS
    'Orleans clustering: one row per silo incarnation (Address, Port, Generation). Status: 3 Active, 6 Dead.';

-- Every query below filters on DeploymentId first, so the primary keys (DeploymentId leading) make them
-- index lookups / short range scans; membership tables hold a handful of rows per cluster.

-- InsertMembershipVersionKey: create the cluster's version row if it does not exist yet (silo start).
-- Returns one row, one column: 1 = created now, 0 = already there. Never fails on an existing row.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('InsertMembershipVersionKey', $q$
WITH created AS (
    INSERT INTO OrleansMembershipVersionTable (DeploymentId, Timestamp, Version)
    VALUES (@DeploymentId, now(), 0)
    ON CONFLICT (DeploymentId) DO NOTHING
    RETURNING 1
)
SELECT count(*)::integer FROM created
$q$);

-- InsertMembershipKey: add a silo row, guarded by the table etag.
-- @Version is the table Version the caller read. The version row is bumped only if it still equals
-- @Version AND the silo row does not exist yet; the silo row is inserted only if the bump happened.
-- The UPDATE row-locks the version row, so concurrent membership writers serialise on it: the loser
-- re-checks Version after the winner commits, matches nothing and gets 0. No version bump without an
-- insert, no insert without a version bump.
-- Returns one row, one column: 1 = inserted, 0 = etag mismatch or row already present.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('InsertMembershipKey', $q$
WITH bumped AS (
    UPDATE OrleansMembershipVersionTable
       SET Version = Version + 1,
           Timestamp = now()
     WHERE DeploymentId = @DeploymentId
       AND Version = @Version
       AND NOT EXISTS (SELECT 1
                         FROM OrleansMembershipTable
                        WHERE DeploymentId = @DeploymentId
                          AND Address = @Address
                          AND Port = @Port
                          AND Generation = @Generation)
    RETURNING DeploymentId
), inserted AS (
    INSERT INTO OrleansMembershipTable
        (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort, StartTime, IAmAliveTime)
    SELECT b.DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime
      FROM bumped b
    ON CONFLICT (DeploymentId, Address, Port, Generation) DO NOTHING
    RETURNING 1
)
SELECT count(*)::integer FROM inserted
$q$);

-- UpdateMembershipKey: change a silo row's Status, SuspectTimes and IAmAliveTime, guarded by the table etag
-- exactly like InsertMembershipKey (bump only if Version = @Version and the row exists; update only if bumped).
-- Returns one row, one column: 1 = updated, 0 = etag mismatch or no such silo row.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpdateMembershipKey', $q$
WITH bumped AS (
    UPDATE OrleansMembershipVersionTable
       SET Version = Version + 1,
           Timestamp = now()
     WHERE DeploymentId = @DeploymentId
       AND Version = @Version
       AND EXISTS (SELECT 1
                     FROM OrleansMembershipTable
                    WHERE DeploymentId = @DeploymentId
                      AND Address = @Address
                      AND Port = @Port
                      AND Generation = @Generation)
    RETURNING DeploymentId
), updated AS (
    UPDATE OrleansMembershipTable m
       SET Status = @Status,
           SuspectTimes = @SuspectTimes,
           IAmAliveTime = @IAmAliveTime
      FROM bumped b
     WHERE m.DeploymentId = b.DeploymentId
       AND m.Address = @Address
       AND m.Port = @Port
       AND m.Generation = @Generation
    RETURNING 1
)
SELECT count(*)::integer FROM updated
$q$);

-- UpdateIAmAlivetimeKey (sic, lower-case t): heartbeat. Touches only IAmAliveTime; no etag check, no
-- version bump (heartbeats are not membership changes). Result ignored.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpdateIAmAlivetimeKey', $q$
UPDATE OrleansMembershipTable
   SET IAmAliveTime = @IAmAliveTime
 WHERE DeploymentId = @DeploymentId
   AND Address = @Address
   AND Port = @Port
   AND Generation = @Generation
$q$);

-- MembershipReadRowKey: one silo row plus the table version.
-- Always yields the version row (if the cluster exists); silo columns are NULL when the silo is unknown.
-- Columns read by name: Address, Port, Generation, SiloName, HostName, Status, ProxyPort, SuspectTimes,
-- StartTime, IAmAliveTime, Version (= table etag, the same value on every row).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('MembershipReadRowKey', $q$
SELECT v.DeploymentId,
       m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
       m.SuspectTimes, m.StartTime, m.IAmAliveTime,
       v.Version
  FROM OrleansMembershipVersionTable v
  LEFT JOIN OrleansMembershipTable m
         ON m.DeploymentId = v.DeploymentId
        AND m.Address = @Address
        AND m.Port = @Port
        AND m.Generation = @Generation
 WHERE v.DeploymentId = @DeploymentId
$q$);

-- MembershipReadAllKey: every silo row of the cluster plus the table version (same shape as above).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('MembershipReadAllKey', $q$
SELECT v.DeploymentId,
       m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
       m.SuspectTimes, m.StartTime, m.IAmAliveTime,
       v.Version
  FROM OrleansMembershipVersionTable v
  LEFT JOIN OrleansMembershipTable m
         ON m.DeploymentId = v.DeploymentId
 WHERE v.DeploymentId = @DeploymentId
$q$);

-- DeleteMembershipTableEntriesKey: forget a whole cluster (silo rows and its version row).
-- Used by tooling/tests, not in normal operation. Result ignored.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteMembershipTableEntriesKey', $q$
WITH silos AS (
    DELETE FROM OrleansMembershipTable WHERE DeploymentId = @DeploymentId
)
DELETE FROM OrleansMembershipVersionTable WHERE DeploymentId = @DeploymentId
$q$);

-- GatewaysQueryKey: what clients (and gateway list refresh) use to find gateways.
-- @Status is bound to 3 (Active). Columns read: Address, ProxyPort (the gateway port), Generation.
-- Silos without a gateway (ProxyPort 0) are not gateways.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('GatewaysQueryKey', $q$
SELECT Address, ProxyPort, Generation
  FROM OrleansMembershipTable
 WHERE DeploymentId = @DeploymentId
   AND Status = @Status
   AND ProxyPort > 0
$q$);

-- CleanupDefunctSiloEntriesKey (required, bulk form): delete Dead (6) silo rows whose last heartbeat and
-- start are older than the cutoff @IAmAliveTime. Orleans 10.4 only runs this when the optional
-- CleanupDefunctSiloEntryKey below is absent; it is kept so the provider's required-key check passes and
-- as the fallback. Active or suspected silos are never deleted here: declaring a silo dead is the
-- membership protocol's job, not cleanup's. Result ignored.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('CleanupDefunctSiloEntriesKey', $q$
DELETE FROM OrleansMembershipTable
 WHERE DeploymentId = @DeploymentId
   AND Status = 6
   AND IAmAliveTime < @IAmAliveTime
   AND StartTime < @IAmAliveTime
$q$);

-- CleanupDefunctSiloEntryKey (optional, preferred by Orleans 10.4 when present): the provider reads the
-- table, decides in .NET which Dead rows are older than the cutoff (start, heartbeat and suspicion votes),
-- and deletes each one with the StartTime / IAmAliveTime values it read. Deleting only when those still match
-- means a row that changed since it was read is left alone. Dead is terminal, so Status = 6 plus the two
-- timestamps identify the observed state; @SuspectTimes is bound too but deliberately not compared (the
-- provider re-serialises it, and an empty stored string would come back as NULL). Result ignored.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('CleanupDefunctSiloEntryKey', $q$
DELETE FROM OrleansMembershipTable
 WHERE DeploymentId = @DeploymentId
   AND Address = @Address
   AND Port = @Port
   AND Generation = @Generation
   AND Status = 6
   AND StartTime = @StartTime
   AND IAmAliveTime = @IAmAliveTime
$q$);
