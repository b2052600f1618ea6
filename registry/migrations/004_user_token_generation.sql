-- Tokens carry the generation they were issued under; a password change, reset or deactivation
-- moves it on, so every token issued before is refused at once.
ALTER TABLE users ADD COLUMN token_generation integer NOT NULL DEFAULT 0;
