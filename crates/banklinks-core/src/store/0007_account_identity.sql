-- The bank's own id for an account (Moneyhub's providerAccountId): it tells that an account
-- Moneyhub lists under a new id (an AISP may issue new ones on reauth) is one already kept here.
ALTER TABLE accounts ADD COLUMN provider_account_id TEXT;
