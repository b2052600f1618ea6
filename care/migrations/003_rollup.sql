-- The dashboard's rollup (see care/rollup.py): per-resident monthly facts, their sums per org path and
-- month, and each resident's current visit and assessment state. Derived data: every row can be
-- rebuilt from the tables it summarises, and the tests check that it equals them.
--
-- Triggers on every table the figures read put the resident into ``care_rollup_dirty`` in the same
-- transaction as the change, so no change is missed; the refresher drains that queue and recomputes
-- only those residents (statement-level triggers: a bulk COPY adds one row per resident, not per row).

CREATE TABLE care_rollup_months (
    month     date PRIMARY KEY,                    -- the first day of the local calendar month
    as_of     timestamptz NOT NULL,                -- the month's end, or the clock while it runs
    built_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per resident and built month: where they lived at the month's end and what counted.
CREATE TABLE care_rollup_residents (
    month          date NOT NULL,
    resident_id    text NOT NULL,
    org_path       text NOT NULL,
    registered     boolean NOT NULL,   -- in the archive by the month's end (enrolment, coverage)
    age_band       text,               -- on the month's last day; NULL under 60 or without a birth date
    equipped       boolean NOT NULL,
    bedded         boolean NOT NULL,
    categories     text[] NOT NULL,    -- memberships valid on some day of the month
    due            boolean NOT NULL,   -- a visit was due (a category with a visit rule)
    visited        boolean NOT NULL,   -- … and made, in a mode the rule accepts
    calls          integer NOT NULL,   -- care calls finished in the month
    calls_reached  integer NOT NULL,
    beds           integer NOT NULL,   -- home care bed contracts covering part of the month
    beds_compliant integer NOT NULL,   -- … that met their plan (care/beds.py)
    PRIMARY KEY (month, resident_id)
);
CREATE INDEX care_rollup_residents_path ON care_rollup_residents (month, org_path);

-- The facts summed per month and org path (the dashboard reads these: one row per community).
CREATE TABLE care_rollup_areas (
    month          date NOT NULL,
    org_path       text NOT NULL,
    residents      integer NOT NULL,
    with_devices   integer NOT NULL,
    with_beds      integer NOT NULL,
    visits_due     integer NOT NULL,
    visited        integer NOT NULL,
    calls          integer NOT NULL,
    calls_reached  integer NOT NULL,
    beds           integer NOT NULL,
    beds_compliant integer NOT NULL,
    age_bands      jsonb NOT NULL,     -- {"60-69": n, …} registered residents per band
    categories     jsonb NOT NULL,     -- {"disabled": n, …} registered residents per category
    PRIMARY KEY (month, org_path)
);

-- Today's visit plan and assessment need per resident with an active category or home care bed.
CREATE TABLE care_resident_state (
    resident_id       text PRIMARY KEY,
    org_path          text NOT NULL,
    name              text NOT NULL,    -- the registry's, kept here so the lists need no join
    phone             text NOT NULL,
    categories        text[] NOT NULL,
    interval_days     integer,          -- NULL: no visit obligation
    modes             text[],
    since             date,             -- the earliest active membership with a rule began
    last_visit_at     timestamptz,      -- in a mode the rules accept
    next_due          timestamptz,
    needs_assessment  boolean NOT NULL, -- 失能/重残 or a home care bed: the level drives the care
    assessment_until  date              -- the latest assessment's validity
);
CREATE INDEX care_resident_state_due ON care_resident_state (org_path text_pattern_ops, next_due);
CREATE INDEX care_resident_state_next_due ON care_resident_state (next_due);

-- The state counted per org path and local day, so today's counts of a city are a few thousand rows:
-- visits falling due that day (and how many take a phone call), and assessments needed that end that
-- day ('-infinity': none valid at all).
CREATE TABLE care_state_days (
    org_path            text NOT NULL,
    day                 date NOT NULL,
    due                 integer NOT NULL,
    due_calls           integer NOT NULL,
    assessments_ending  integer NOT NULL,
    PRIMARY KEY (org_path, day)
);

-- The day the state was last brought to (memberships and beds begin and end by date).
CREATE TABLE care_rollup_meta (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    state_day  date
);
INSERT INTO care_rollup_meta (singleton, state_day) VALUES (true, NULL);

-- Residents whose rollup rows are stale; append-only, drained by the refresher.
CREATE TABLE care_rollup_dirty (
    resident_id  text NOT NULL
);

-- Mark the residents a statement's changed rows concern. One argument: the rows' column naming the
-- resident. Three: through another table (a visit rule: everyone with a membership in its category; a
-- service under a home care bed: the contract's resident): that table, its column, the rows' column.
CREATE FUNCTION care_rollup_mark() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed text;
BEGIN
    FOREACH changed IN ARRAY CASE TG_OP WHEN 'INSERT' THEN ARRAY['new_rows'] WHEN 'DELETE' THEN ARRAY['old_rows']
                                  ELSE ARRAY['new_rows', 'old_rows'] END LOOP
        IF TG_NARGS = 1 THEN
            EXECUTE format('INSERT INTO care_rollup_dirty SELECT DISTINCT %1$I FROM %2$I WHERE %1$I IS NOT NULL',
                           TG_ARGV[0], changed);
        ELSE
            EXECUTE format('INSERT INTO care_rollup_dirty SELECT DISTINCT x.resident_id FROM %I x'
                           ' WHERE x.%I IN (SELECT %I FROM %I)', TG_ARGV[0], TG_ARGV[1], TG_ARGV[2], changed);
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

-- care's own tables that the figures read (by their resident_id)
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['care_residence', 'care_categories', 'care_visits', 'care_beds', 'care_assessments',
                             'care_calls'] LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION care_rollup_mark(''resident_id'')',
                       t || '_rollup_insert', t);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION care_rollup_mark(''resident_id'')',
                       t || '_rollup_delete', t);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION care_rollup_mark(''resident_id'')',
                       t || '_rollup_update', t);
    END LOOP;
END $$;

-- the registry's devices: installed or not (device coverage, the beds' kit)
CREATE TRIGGER devices_care_rollup_insert AFTER INSERT ON devices REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION care_rollup_mark('resident_id');
CREATE TRIGGER devices_care_rollup_delete AFTER DELETE ON devices REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION care_rollup_mark('resident_id');
-- An update of the registry's devices or residents matters only when certain columns change.
-- Arguments: the key column, the column naming the resident (both old and new are marked), the columns.
CREATE FUNCTION care_rollup_mark_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    watched text[] := TG_ARGV[2:];
BEGIN
    EXECUTE format('INSERT INTO care_rollup_dirty SELECT x.resident_id FROM new_rows n JOIN old_rows o ON o.%1$I = n.%1$I,'
                   ' LATERAL (VALUES (n.%2$I), (o.%2$I)) AS x (resident_id)'
                   ' WHERE x.resident_id IS NOT NULL AND (%3$s) IS DISTINCT FROM (%4$s) GROUP BY x.resident_id',
                   TG_ARGV[0], TG_ARGV[1],
                   (SELECT string_agg(format('n.%I', c), ', ') FROM unnest(watched) AS c),
                   (SELECT string_agg(format('o.%I', c), ', ') FROM unnest(watched) AS c));
    RETURN NULL;
END $$;
-- devices: installed or not, and whose (device coverage, the beds' kit)
CREATE TRIGGER devices_care_rollup_update AFTER UPDATE ON devices
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION care_rollup_mark_changed('id', 'resident_id', 'resident_id', 'status', 'created_at', 'updated_at');
-- residents: age, registration, name and phone (a move reaches care_residence, a removal cascades there)
CREATE TRIGGER residents_care_rollup_update AFTER UPDATE ON residents
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION care_rollup_mark_changed('id', 'id', 'birth_date', 'created_at', 'name', 'phone');

-- rows that concern residents through another table (see care_rollup_mark)
DO $$
DECLARE
    via text[];
BEGIN
    FOREACH via SLICE 1 IN ARRAY ARRAY[['care_visit_rules', 'care_categories', 'category', 'category'],
                                       ['care_bed_services', 'care_beds', 'id', 'bed_id']] LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT'
                       ' EXECUTE FUNCTION care_rollup_mark(%L, %L, %L)',
                       via[1] || '_rollup_insert', via[1], via[2], via[3], via[4]);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT'
                       ' EXECUTE FUNCTION care_rollup_mark(%L, %L, %L)',
                       via[1] || '_rollup_delete', via[1], via[2], via[3], via[4]);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION care_rollup_mark(%L, %L, %L)',
                       via[1] || '_rollup_update', via[1], via[2], via[3], via[4]);
    END LOOP;
END $$;

-- the raw queries' own paths: memberships by validity, beds by dates (the day's boundaries), visits and
-- calls by resident and time
CREATE INDEX care_categories_valid ON care_categories (valid_from, valid_to);
CREATE INDEX care_beds_dates ON care_beds (start_date, end_date);
