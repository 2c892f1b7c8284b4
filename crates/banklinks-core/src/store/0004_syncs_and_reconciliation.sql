-- A sync Moneyhub is running in the background (v3 syncs are asynchronous): the card says
-- "syncing" until the run's status says it finished. Kept here so a restart keeps watching.
CREATE TABLE syncs_in_flight (
    profile_id     TEXT NOT NULL,
    connection_id  TEXT NOT NULL,
    sync_id        TEXT NOT NULL,
    started_at     TEXT NOT NULL,
    -- The person asked for it (so the result is news to them).
    by_user        INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (profile_id, connection_id),
    FOREIGN KEY (profile_id, connection_id) REFERENCES connections (profile_id, id)
        ON DELETE CASCADE ON UPDATE CASCADE
);

-- When Moneyhub no longer lists a connection (deleted elsewhere) or an account (closed at the
-- bank), it is kept as history and marked with the time it was first missed.
ALTER TABLE connections ADD COLUMN removed_at_source TEXT;
ALTER TABLE accounts ADD COLUMN removed_at_source TEXT;
-- The instant the connection's transactions were last fetched: the next fetch asks only for
-- what was modified since (less an overlap for late changes).
ALTER TABLE connections ADD COLUMN transactions_fetched_at TEXT;
