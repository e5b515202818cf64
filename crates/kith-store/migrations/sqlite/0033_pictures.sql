-- Pictures of shops and members (issue 18): a merchant's logo and banner, a member's avatar.
-- Each names an uploaded image like a community's cover; the use cases accept only an image
-- the caller uploaded (staff of the shop for its logo and banner, the member for their
-- avatar). NULL is no picture: the pages draw the name's first character instead.
ALTER TABLE merchants ADD COLUMN logo_media_id TEXT REFERENCES media (id);
ALTER TABLE merchants ADD COLUMN banner_media_id TEXT REFERENCES media (id);
ALTER TABLE accounts ADD COLUMN avatar_media_id TEXT REFERENCES media (id);
