-- 0004_orleans_reminders
--
-- Orleans reminders (UseAdoNetReminderService) for Orleans 10.4.x.
-- Written for NHub from the provider's documented call contract; not derived from the Orleans repository's
-- SQL scripts.
--
-- Parameters bound by the provider:
--   @ServiceId text (ClusterOptions.ServiceId), @GrainId text (GrainId.ToString(), e.g. "type/key"),
--   @ReminderName text, @StartTime DateTime UTC (-> timestamptz),
--   @Period int or bigint milliseconds (int when it fits, bigint otherwise; stored as bigint),
--   @GrainHash int (the grain's uniform hash, a uint reinterpreted as signed int),
--   @BeginHash / @EndHash int (same reinterpretation), @Version int (etag, for deletes).
-- Columns read back by name: GrainId, ReminderName, StartTime, Period, Version.
-- Version is the etag of one reminder row (decimal text on the .NET side).

CREATE TABLE OrleansRemindersTable
(
    ServiceId    text        NOT NULL,
    GrainId      text        NOT NULL,
    ReminderName text        NOT NULL,
    StartTime    timestamptz NOT NULL,
    Period       bigint      NOT NULL,
    GrainHash    integer     NOT NULL,
    Version      integer     NOT NULL,
    CONSTRAINT pk_orleansreminderstable PRIMARY KEY (ServiceId, GrainId, ReminderName)
);

-- Range reads (each silo loads the reminders of its slice of the hash ring) scan by (ServiceId, GrainHash).
CREATE INDEX ix_orleansreminderstable_service_hash ON OrleansRemindersTable (ServiceId, GrainHash);

COMMENT ON TABLE OrleansRemindersTable IS
    'Orleans reminders. Period in milliseconds; GrainHash = uniform hash as signed int; Version is the row etag.';

-- ReadReminderRowsKey: all reminders of one grain (primary-key prefix scan).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadReminderRowsKey', $q$
SELECT GrainId, ReminderName, StartTime, Period, Version
  FROM OrleansRemindersTable
 WHERE ServiceId = @ServiceId
   AND GrainId = @GrainId
$q$);

-- ReadReminderRowKey: one reminder (primary-key lookup); no row when it does not exist.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadReminderRowKey', $q$
SELECT GrainId, ReminderName, StartTime, Period, Version
  FROM OrleansRemindersTable
 WHERE ServiceId = @ServiceId
   AND GrainId = @GrainId
   AND ReminderName = @ReminderName
$q$);

-- Ring ranges are (BeginHash, EndHash]: begin exclusive, end inclusive, on the unsigned ring.
-- The provider already maps the unsigned range onto signed ints and picks the query:
-- ReadRangeRows1Key when (int)BeginHash < (int)EndHash: one contiguous signed interval.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadRangeRows1Key', $q$
SELECT GrainId, ReminderName, StartTime, Period, Version
  FROM OrleansRemindersTable
 WHERE ServiceId = @ServiceId
   AND GrainHash > @BeginHash
   AND GrainHash <= @EndHash
$q$);

-- ReadRangeRows2Key otherwise: the range wraps in signed order (or is the full ring when Begin = End),
-- i.e. two intervals (BeginHash, max] and [min, EndHash]. Here (int)EndHash <= (int)BeginHash, so the two
-- halves are disjoint and UNION ALL returns each row once; written as two index range scans rather than
-- an OR, which PostgreSQL would only resolve with a scan of the whole service.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadRangeRows2Key', $q$
SELECT GrainId, ReminderName, StartTime, Period, Version
  FROM OrleansRemindersTable
 WHERE ServiceId = @ServiceId
   AND GrainHash > @BeginHash
UNION ALL
SELECT GrainId, ReminderName, StartTime, Period, Version
  FROM OrleansRemindersTable
 WHERE ServiceId = @ServiceId
   AND GrainHash <= @EndHash
$q$);

-- UpsertReminderRowKey: register or re-register a reminder (last writer wins, as Orleans expects).
-- Returns one row with column Version: the new etag (1 on insert, previous + 1 on update).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpsertReminderRowKey', $q$
INSERT INTO OrleansRemindersTable AS r
    (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 1)
ON CONFLICT ON CONSTRAINT pk_orleansreminderstable DO UPDATE
   SET StartTime = EXCLUDED.StartTime,
       Period = EXCLUDED.Period,
       GrainHash = EXCLUDED.GrainHash,
       Version = r.Version + 1
RETURNING Version
$q$);

-- DeleteReminderRowKey: unregister one reminder if its etag still matches.
-- Returns exactly one row with one boolean column: true = deleted, false = missing or etag mismatch.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteReminderRowKey', $q$
WITH deleted AS (
    DELETE FROM OrleansRemindersTable
     WHERE ServiceId = @ServiceId
       AND GrainId = @GrainId
       AND ReminderName = @ReminderName
       AND Version = @Version
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM deleted)
$q$);

-- DeleteReminderRowsKey: drop every reminder of the service (tests/tooling). Result ignored.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteReminderRowsKey', $q$
DELETE FROM OrleansRemindersTable
 WHERE ServiceId = @ServiceId
$q$);
