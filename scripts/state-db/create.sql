-- The team's shared Pulumi state database (README, "Shared state backend"). Run as a PostgreSQL superuser, with
-- the two roles' passwords in the environment (never on the command line, never in the repo):
--   EAF_STATE_PASSWORD=... EAF_PREVIEW_PASSWORD=... psql -h DBHOST -U postgres -f scripts/state-db/create.sql
-- Safe to re-run: what exists is kept, so after losing the database it creates an empty one to restore into.
--   eaf_state    reads and writes the state: `python -m infra up`, `pulumi destroy`, `python -m infra checkpoint`
--   eaf_preview  SELECT only: the merge-request preview job. A DIY-backend preview takes no lock and writes no
--                state, so reading is all it needs; any write it tried would fail with "permission denied".
-- The engine creates its table (pulumi_state) on the first connection of eaf_state; the default privileges below
-- give eaf_preview SELECT on it then.
\set ON_ERROR_STOP on
\getenv state_password EAF_STATE_PASSWORD
\getenv preview_password EAF_PREVIEW_PASSWORD
\if :{?state_password}
\else
  \warn 'EAF_STATE_PASSWORD is not set: the password of the read-write role eaf_state'
  SELECT 1 / 0 AS set_EAF_STATE_PASSWORD;
\endif
\if :{?preview_password}
\else
  \warn 'EAF_PREVIEW_PASSWORD is not set: the password of the read-only role eaf_preview'
  SELECT 1 / 0 AS set_EAF_PREVIEW_PASSWORD;
\endif

SELECT format('CREATE ROLE eaf_state LOGIN PASSWORD %L', :'state_password')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'eaf_state') \gexec
SELECT format('CREATE ROLE eaf_preview LOGIN PASSWORD %L', :'preview_password')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'eaf_preview') \gexec
SELECT 'CREATE DATABASE eaf_state OWNER eaf_state'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'eaf_state') \gexec

\connect eaf_state
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO eaf_state;
GRANT USAGE ON SCHEMA public TO eaf_preview;
ALTER DEFAULT PRIVILEGES FOR ROLE eaf_state IN SCHEMA public GRANT SELECT ON TABLES TO eaf_preview;
