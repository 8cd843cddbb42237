-- The raw-SQL baseline: the same double-entry transfer the API makes, as pgbench runs it.
-- pgbench -n -f bench/transfers_pgbench.sql -D first=<first bench account id> -D naccounts=<N>
--
-- Two random distinct bench accounts, both locked in ascending id order (SELECT ... FOR UPDATE,
-- as the app does), both cached balances updated, one journal entry and its two postings with
-- balance_after inserted, commit. The ledger's triggers (append-only, deferred "entry balances"
-- check) and deferred foreign keys run here exactly as they do under the API.
\set a random(0, :naccounts - 1)
\set d random(1, :naccounts - 1)
\set from_id :first + :a
\set to_id :first + (:a + :d) % :naccounts
\set cents random(1, 1000)
BEGIN;
SELECT id, balance FROM accounts_account WHERE id IN (:from_id, :to_id) ORDER BY id FOR UPDATE;
UPDATE accounts_account SET balance = balance - :cents::numeric / 100, available = available - :cents::numeric / 100, updated_at = now() WHERE id = :from_id RETURNING balance AS from_balance \gset
UPDATE accounts_account SET balance = balance + :cents::numeric / 100, available = available + :cents::numeric / 100, updated_at = now() WHERE id = :to_id RETURNING balance AS to_balance \gset
INSERT INTO transactions_journalentry (public_id, kind, amount, currency, reference, channel, created_by, reverses_id, created_at) VALUES (gen_random_uuid(), 'transfer', :cents::numeric / 100, 'CNY', 'bench raw sql', 'system', 'system:pgbench', NULL, now()) RETURNING id AS entry_id \gset
INSERT INTO transactions_posting (public_id, amount, currency, balance_after, created_at, account_id, entry_id) VALUES (gen_random_uuid(), -(:cents::numeric / 100), 'CNY', :from_balance, now(), :from_id, :entry_id), (gen_random_uuid(), :cents::numeric / 100, 'CNY', :to_balance, now(), :to_id, :entry_id);
END;
