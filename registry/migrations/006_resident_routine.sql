-- A resident's usual time of getting up and of going to bed, local time ('07:30'; NULL: not recorded).
-- The home detector uses them in a home's first days, before it has learned the resident's own.
ALTER TABLE residents
    ADD COLUMN IF NOT EXISTS usual_wake text,
    ADD COLUMN IF NOT EXISTS usual_bed  text;
ALTER TABLE residents DROP CONSTRAINT IF EXISTS residents_usual_wake_check;
ALTER TABLE residents ADD CONSTRAINT residents_usual_wake_check
    CHECK (usual_wake ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$');
ALTER TABLE residents DROP CONSTRAINT IF EXISTS residents_usual_bed_check;
ALTER TABLE residents ADD CONSTRAINT residents_usual_bed_check
    CHECK (usual_bed ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$');
