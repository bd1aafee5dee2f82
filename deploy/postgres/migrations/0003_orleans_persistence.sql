-- 0003_orleans_persistence
--
-- Orleans grain state (AddAdoNetGrainStorage) for Orleans 10.4.x.
-- Written for NHub from the provider's documented call contract; not derived from the Orleans repository's
-- SQL scripts. One table serves every storage provider name (Default, PubSubStore, ...): rows are told apart
-- by ServiceId + grain type + grain id.
--
-- Grain identity (parameters bound by the provider on every call):
--   @GrainIdHash int       hash of the grain id bytes   (provider-side hasher; do not change the hasher
--   @GrainTypeHash int     hash of the grain type string  once data exists, rows would become unreachable)
--   @GrainIdN0 bigint, @GrainIdN1 bigint   Guid keys: the two halves; long keys: N0 = 0, N1 = key; string keys: 0, 0
--   @GrainIdExtensionString text           string key, or key extension, or NULL
--   @GrainTypeString text                  grain type name (generic arity stripped)
--   @ServiceId text                        ClusterOptions.ServiceId
-- The hashes are not unique on their own; they lead the primary key only to make it selective. The full
-- identity is the whole key. NULL extension is stored as '' so the key can be a plain primary key (and
-- ON CONFLICT target) on any PostgreSQL version; every query maps NULL -> '' the same way.
--
-- Optimistic concurrency: Version is the etag (grainState.ETag is Version as decimal text).
--   @GrainStateVersion int is the etag the grain holds, NULL when it has never seen a row.
--   A write/clear/delete whose @GrainStateVersion does not match the stored Version returns NO row; the
--   provider turns "no row" (or a NULL / unchanged version) into InconsistentStateException.
--
-- PayloadBinary is the serialized state (provider's IGrainStorageSerializer output), NULL after ClearState.

CREATE TABLE OrleansStorage
(
    GrainIdHash            integer     NOT NULL,
    GrainIdN0              bigint      NOT NULL,
    GrainIdN1              bigint      NOT NULL,
    GrainTypeHash          integer     NOT NULL,
    GrainTypeString        text        NOT NULL,
    GrainIdExtensionString text        NOT NULL DEFAULT '',
    ServiceId              text        NOT NULL,
    PayloadBinary          bytea       NULL,
    ModifiedOn             timestamptz NOT NULL DEFAULT now(),
    Version                integer     NOT NULL,
    CONSTRAINT pk_orleansstorage PRIMARY KEY
        (GrainIdHash, GrainTypeHash, ServiceId, GrainIdN0, GrainIdN1, GrainTypeString, GrainIdExtensionString)
);

COMMENT ON TABLE OrleansStorage IS
    'Orleans grain state. Version is the etag (optimistic concurrency). GrainIdExtensionString '''' means none.';

-- All four queries are primary-key lookups (equality on every key column).

-- ReadFromStorageKey: the stored state and its etag.
-- Columns read: PayloadBinary (NULL = no state, e.g. after ClearState), Version (the etag).
-- No row = the grain has never been written; the provider then uses a fresh state and a NULL etag.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadFromStorageKey', $q$
SELECT PayloadBinary, Version
  FROM OrleansStorage
 WHERE GrainIdHash = @GrainIdHash
   AND GrainTypeHash = @GrainTypeHash
   AND ServiceId = @ServiceId
   AND GrainIdN0 = @GrainIdN0
   AND GrainIdN1 = @GrainIdN1
   AND GrainTypeString = @GrainTypeString
   AND GrainIdExtensionString = COALESCE(@GrainIdExtensionString, '')
$q$);

-- WriteToStorageKey: optimistic upsert. Returns one row with column NewGrainStateVersion, or no row on conflict.
--   @GrainStateVersion NULL  -> first write: INSERT with Version 1; ON CONFLICT DO NOTHING, so if a row
--                               already exists (another activation wrote first) nothing is returned.
--   @GrainStateVersion = n   -> UPDATE only if the stored Version is still n; Version becomes n + 1.
--                               A missing row or a different Version returns nothing (stale etag).
-- The two branches are mutually exclusive on @GrainStateVersion, so at most one row comes back.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('WriteToStorageKey', $q$
WITH updated AS (
    UPDATE OrleansStorage
       SET PayloadBinary = @PayloadBinary,
           ModifiedOn = now(),
           Version = Version + 1
     WHERE @GrainStateVersion IS NOT NULL
       AND GrainIdHash = @GrainIdHash
       AND GrainTypeHash = @GrainTypeHash
       AND ServiceId = @ServiceId
       AND GrainIdN0 = @GrainIdN0
       AND GrainIdN1 = @GrainIdN1
       AND GrainTypeString = @GrainTypeString
       AND GrainIdExtensionString = COALESCE(@GrainIdExtensionString, '')
       AND Version = @GrainStateVersion
    RETURNING Version
), inserted AS (
    INSERT INTO OrleansStorage
        (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString,
         ServiceId, PayloadBinary, ModifiedOn, Version)
    SELECT @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString, COALESCE(@GrainIdExtensionString, ''),
           @ServiceId, @PayloadBinary, now(), 1
     WHERE @GrainStateVersion IS NULL
    ON CONFLICT ON CONSTRAINT pk_orleansstorage DO NOTHING
    RETURNING Version
)
SELECT Version AS NewGrainStateVersion FROM updated
UNION ALL
SELECT Version AS NewGrainStateVersion FROM inserted
$q$);

-- ClearStorageKey (DeleteStateOnClear = false, the default): keep the row, drop the payload, bump the etag.
-- Returns one row (first column = the new Version, which becomes the grain's etag) or no row on conflict.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ClearStorageKey', $q$
UPDATE OrleansStorage
   SET PayloadBinary = NULL,
       ModifiedOn = now(),
       Version = Version + 1
 WHERE GrainIdHash = @GrainIdHash
   AND GrainTypeHash = @GrainTypeHash
   AND ServiceId = @ServiceId
   AND GrainIdN0 = @GrainIdN0
   AND GrainIdN1 = @GrainIdN1
   AND GrainTypeString = @GrainTypeString
   AND GrainIdExtensionString = COALESCE(@GrainIdExtensionString, '')
   AND Version = @GrainStateVersion
RETURNING Version
$q$);

-- DeleteStorageKey (only used with DeleteStateOnClear = true): remove the row if the etag matches.
-- The provider treats a returned value equal to the grain's etag as a conflict, so this returns the
-- deleted row's Version + 1 ("the version after this change"); no row on conflict. The grain's etag
-- becomes NULL afterwards, so its next write is an insert.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteStorageKey', $q$
DELETE FROM OrleansStorage
 WHERE GrainIdHash = @GrainIdHash
   AND GrainTypeHash = @GrainTypeHash
   AND ServiceId = @ServiceId
   AND GrainIdN0 = @GrainIdN0
   AND GrainIdN1 = @GrainIdN1
   AND GrainTypeString = @GrainTypeString
   AND GrainIdExtensionString = COALESCE(@GrainIdExtensionString, '')
   AND Version = @GrainStateVersion
RETURNING Version + 1
$q$);
