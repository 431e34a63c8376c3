-- callqa DuckDB schema, version 6: an account may sign in through the centre's identity provider.

-- The e-mail (or subject id) the provider vouches for; NULL: password sign-in only.
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS identity VARCHAR;
