-- A resident watched for going out at night (dementia, known to wander): the hours of local time in
-- which the entrance door opening with nobody seen inside after it raises NIGHT_EXIT ('22:00-06:00';
-- NULL: not watched). Start and end differ; a window across midnight has its start after its end.
ALTER TABLE residents ADD COLUMN IF NOT EXISTS night_exit_watch text;
ALTER TABLE residents DROP CONSTRAINT IF EXISTS residents_night_exit_watch_check;
ALTER TABLE residents ADD CONSTRAINT residents_night_exit_watch_check
    CHECK (night_exit_watch ~ '^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$'
           AND split_part(night_exit_watch, '-', 1) <> split_part(night_exit_watch, '-', 2));
