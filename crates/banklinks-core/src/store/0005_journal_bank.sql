-- The bank's name as it was when the entry was written: a removed connection's entries still
-- say which bank they were about, and a trip to add a bank names it before any connection exists.
ALTER TABLE journal ADD COLUMN bank TEXT;
