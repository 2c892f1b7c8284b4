-- Moneyhub's regular transactions (its enrichment of a connection's history): each series with
-- its prediction of the next one. Replaced whole at each fetch; they go with their account.
CREATE TABLE regular_payments (
    profile_id          TEXT NOT NULL,
    series_id           TEXT NOT NULL,
    account_id          TEXT NOT NULL,
    kind                TEXT NOT NULL,
    description         TEXT NOT NULL,
    frequency           TEXT NOT NULL,
    predicted_date      TEXT NOT NULL,
    predicted_earliest  TEXT,
    predicted_latest    TEXT,
    late                INTEGER NOT NULL DEFAULT 0,
    currency            TEXT NOT NULL,
    amount_minor        INTEGER NOT NULL,
    amount_lower_minor  INTEGER,
    amount_upper_minor  INTEGER,
    PRIMARY KEY (profile_id, series_id),
    FOREIGN KEY (profile_id, account_id) REFERENCES accounts(profile_id, id) ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX regular_payments_by_account ON regular_payments (profile_id, account_id);
