-- Nothing changes on PostgreSQL. On SQLite this migration rewrites the CHECK constraints'
-- value lists (`col IN ('a', 'b', 'c')`) as comparisons, because SQLite checks such a list
-- by building a temporary B-tree on every write; PostgreSQL compares a constant array in
-- place.
SELECT 1;
