-- "Sync as soon as allowed": the syncs waiting for Moneyhub's limit to pass. Kept here, not in
-- memory, so a queued sync survives a restart; it goes with its connection (a rename follows it).
CREATE TABLE queued_syncs (
    profile_id     TEXT NOT NULL,
    connection_id  TEXT NOT NULL,
    run_at         TEXT NOT NULL,
    PRIMARY KEY (profile_id, connection_id),
    FOREIGN KEY (profile_id, connection_id) REFERENCES connections (profile_id, id)
        ON DELETE CASCADE ON UPDATE CASCADE
);
