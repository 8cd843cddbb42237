-- Prefill the benchmark ledger with :entries historical transfers between the bench accounts
-- (ids :first .. :first + :naccounts - 1), set-based, in one transaction.
--
-- Every entry has exactly two postings (-amount on the debit account, +amount on the credit
-- account, never the same account), so every entry balances; each posting's balance_after is
-- the account's running balance (opening balance + the running sum of its history); and the
-- accounts' cached balance and available move by the sum of their new postings. check_ledger
-- proves all of it after the run.
--
-- session_replication_role = replica skips the row triggers during this one bulk load (the
-- deferred per-posting "entry balanced" trigger and the FK checks would otherwise run 2 x :entries
-- times); the benchmark itself, raw SQL and API alike, runs with every trigger on.
-- Needs a superuser (the default `postgres` role on 127.0.0.1 is one).
--
-- Optional :history_from and :history_to (timestamps, psql -v) place the history in that window
-- (default: a year ending an hour ago). bench/ledger_scale.py grows one ledger in steps and gives
-- each step the next window, so the prefilled history stays in time order.
\set ON_ERROR_STOP on
\if :{?history_from}
\else
SELECT now() - interval '365 days' AS history_from \gset
\endif
\if :{?history_to}
\else
SELECT now() - interval '1 hour' AS history_to \gset
\endif

BEGIN;
SET LOCAL session_replication_role = replica;
SET LOCAL work_mem = '256MB';

-- Reserve entry ids :base + 1 .. :base + :entries (nobody else writes to this database now).
SELECT nextval(pg_get_serial_sequence('transactions_journalentry', 'id')) AS base \gset
SELECT setval(pg_get_serial_sequence('transactions_journalentry', 'id'), :base + :entries) AS reserved \gset

CREATE TEMP TABLE bench_history ON COMMIT DROP AS
SELECT :base + g AS entry_id,
       :first + a_off AS debit_id,
       :first + (a_off + 1 + floor(random() * (:naccounts - 1))::int) % :naccounts AS credit_id,
       ((1 + floor(random() * 100000)) / 100)::numeric(20, 4) AS amount,
       -- spread over [history_from, history_to] (default: a year ending an hour ago), in id order
       :'history_from'::timestamptz
         + (g::float8 / :entries) * (:'history_to'::timestamptz - :'history_from'::timestamptz) AS at
  FROM (SELECT g, floor(random() * :naccounts)::int AS a_off FROM generate_series(1, :entries) AS g) AS s;

INSERT INTO transactions_journalentry
       (id, public_id, kind, amount, currency, reference, channel, created_by, reverses_id, created_at)
SELECT entry_id, gen_random_uuid(), 'transfer', amount, 'CNY', 'bench history', 'system', 'system:bench', NULL, at
  FROM bench_history
 ORDER BY entry_id;

CREATE TEMP TABLE bench_legs ON COMMIT DROP AS
SELECT entry_id, debit_id AS account_id, -amount AS amount, at, 0 AS leg FROM bench_history
UNION ALL
SELECT entry_id, credit_id AS account_id, amount, at, 1 AS leg FROM bench_history;

INSERT INTO transactions_posting (public_id, amount, currency, balance_after, created_at, account_id, entry_id)
SELECT gen_random_uuid(),
       l.amount,
       'CNY',
       a.balance + sum(l.amount) OVER (PARTITION BY l.account_id ORDER BY l.entry_id),
       l.at,
       l.account_id,
       l.entry_id
  FROM bench_legs AS l
  JOIN accounts_account AS a ON a.id = l.account_id
 ORDER BY l.entry_id, l.leg;

UPDATE accounts_account AS a
   SET balance = a.balance + d.delta, available = a.available + d.delta, updated_at = now()
  FROM (SELECT account_id, sum(amount) AS delta FROM bench_legs GROUP BY account_id) AS d
 WHERE a.id = d.account_id;

-- Fails the load (and rolls it back) if the random walk ever overdrew an account.
SELECT count(*) AS overdrawn_n, count(*) > 0 AS overdrawn
  FROM transactions_posting WHERE entry_id > :base AND balance_after < 0 \gset
\if :overdrawn
  \echo prefill overdrew :overdrawn_n postings: raise --opening or lower the amounts
  ROLLBACK;
  \quit 3
\endif
COMMIT;
