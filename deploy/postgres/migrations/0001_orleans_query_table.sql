-- 0001_orleans_query_table
--
-- The query registry read by every Orleans ADO.NET provider (clustering, grain persistence, reminders).
--
-- Contract: on start each provider runs exactly
--     SELECT QueryKey, QueryText FROM OrleansQuery
-- (persistence adds a WHERE on its own keys) and from then on executes only the texts it found there,
-- looked up by QueryKey. A provider refuses to start when one of its required keys is missing
-- ("Not all required queries found. Missing are: ...").
--
-- Identifiers are unquoted on purpose: PostgreSQL folds them to lower case, which is what the provider's
-- unquoted SELECT resolves to. Result columns are read by name case-insensitively (Npgsql), so
-- `version` satisfies a read of "Version".
--
-- Query texts use @Name parameters (Npgsql rewrites them to positional ones). The texts are rows, not code:
-- a later migration that changes a query UPDATEs its row; providers pick it up when they next start.
--
-- Runner notes: no BEGIN/COMMIT, no psql meta-commands; the runner wraps each file in one transaction and
-- records it in nhub_schema_migrations, so plain CREATE/INSERT (no IF NOT EXISTS) is intended: a
-- half-applied or hand-made schema fails loudly instead of being silently skipped.

CREATE TABLE OrleansQuery
(
    QueryKey  varchar(64) NOT NULL,
    QueryText text        NOT NULL,
    CONSTRAINT pk_orleansquery PRIMARY KEY (QueryKey)
);

COMMENT ON TABLE OrleansQuery IS
    'Orleans ADO.NET providers: named SQL texts, loaded once at provider start (SELECT QueryKey, QueryText FROM OrleansQuery).';
