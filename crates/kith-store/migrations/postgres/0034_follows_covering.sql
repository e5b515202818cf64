-- The follow graph's primary key carries when each follow was made (issue 22). A
-- trusted-feed page reads, for each of the reader's follows, when it was made (the
-- candidate's class is "friend" only for a follow standing at the page's snapshot), and for
-- each followee's post whether the author follows the reader back and since when. With
-- `created_at` in the key's index (INCLUDE: stored, not part of the key, so uniqueness is
-- unchanged) those look-ups can be answered from the index alone, as SQLite's WITHOUT ROWID
-- table answers them in the same migration.
ALTER TABLE follows DROP CONSTRAINT follows_pkey,
    ADD CONSTRAINT follows_pkey PRIMARY KEY (follower_id, followee_id) INCLUDE (created_at);
