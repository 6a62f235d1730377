-- The internal groups the login service reported at the user's last login (JSON array), kept so
-- that every trigger and every preview sees the user exactly as the last live decision did.
ALTER TABLE users ADD COLUMN internal_groups TEXT NOT NULL DEFAULT '[]';
