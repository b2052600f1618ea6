-- The care side of the 12349 centre: categories, visits, assessments, home care beds, population.
--
-- Residents, the org tree and devices belong to the registry; these tables only refer to them. Scope
-- comes from the resident's org path (the registry's ``residents.org_path``), except where history
-- matters: ``care_residence`` keeps where each resident lived since when, so a past month's visit rate
-- is counted where the resident lived at the end of that month, whatever happened after.

-- Where a resident lived since when. Written by a trigger on the registry's ``residents`` table (the
-- one place every move passes through: the API, imports and direct SQL alike); care owns the rows.
CREATE TABLE care_residence (
    resident_id text NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    since       timestamptz NOT NULL,
    org_path    text NOT NULL,
    PRIMARY KEY (resident_id, since)
);
CREATE INDEX care_residence_path ON care_residence (org_path text_pattern_ops);

CREATE FUNCTION care_record_residence() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO care_residence (resident_id, since, org_path)
    VALUES (NEW.id, clock_timestamp(), NEW.org_path)
    ON CONFLICT (resident_id, since) DO UPDATE SET org_path = EXCLUDED.org_path;
    RETURN NULL;
END $$;
CREATE TRIGGER care_residence_insert AFTER INSERT ON residents
    FOR EACH ROW EXECUTE FUNCTION care_record_residence();
CREATE TRIGGER care_residence_move AFTER UPDATE ON residents
    FOR EACH ROW WHEN (OLD.org_path IS DISTINCT FROM NEW.org_path)
    EXECUTE FUNCTION care_record_residence();
INSERT INTO care_residence (resident_id, since, org_path)
    SELECT id, created_at, org_path FROM residents ON CONFLICT DO NOTHING;

-- The categories a resident belongs to (特困, 低保, 独居 …), from a source, for a period.
CREATE TABLE care_categories (
    id          bigserial PRIMARY KEY,
    resident_id text NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    category    text NOT NULL,
    source      text NOT NULL DEFAULT '',
    valid_from  date NOT NULL,
    valid_to    date,
    note        text NOT NULL DEFAULT '',
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX care_categories_resident ON care_categories (resident_id, category);
CREATE INDEX care_categories_category ON care_categories (category, valid_from);

-- How often a category must be visited, per area: the rule at the longest org path that is a prefix
-- of the resident's path applies ('/' is the whole network).
CREATE TABLE care_visit_rules (
    org_path       text NOT NULL,
    category       text NOT NULL,
    interval_days  integer NOT NULL CHECK (interval_days BETWEEN 1 AND 366),
    modes          text[] NOT NULL DEFAULT '{in_person,phone,video}',
    updated_by     text NOT NULL DEFAULT 'system',
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_path, category)
);

-- Who visits a resident (a community worker's or volunteer's user name, or a name).
CREATE TABLE care_assignments (
    resident_id  text PRIMARY KEY REFERENCES residents (id) ON DELETE CASCADE,
    visitor      text NOT NULL,
    assigned_by  text NOT NULL,
    assigned_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX care_assignments_visitor ON care_assignments (visitor);

-- A visit: when, how, by whom, what was found; ``org_path`` is where the resident lived at the time.
CREATE TABLE care_visits (
    id           bigserial PRIMARY KEY,
    resident_id  text NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL,
    mode         text NOT NULL CHECK (mode IN ('in_person', 'phone', 'video')),
    visitor      text NOT NULL,
    org_path     text NOT NULL,
    findings     jsonb NOT NULL DEFAULT '{}'::jsonb,
    concern      boolean NOT NULL DEFAULT false,
    alert_id     uuid,
    recorded_by  text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX care_visits_resident ON care_visits (resident_id, at DESC);
CREATE INDEX care_visits_at ON care_visits (at);

-- Ability assessments: the answers are kept, the scores and level are derived by the instrument.
CREATE TABLE care_assessments (
    id             bigserial PRIMARY KEY,
    resident_id    text NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    instrument     text NOT NULL,
    assessed_on    date NOT NULL,
    valid_until    date NOT NULL,
    assessor       text NOT NULL,
    answers        jsonb NOT NULL,
    domain_scores  jsonb NOT NULL,
    total          numeric NOT NULL,
    level          text NOT NULL,
    org_path       text NOT NULL,
    recorded_by    text NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX care_assessments_resident ON care_assessments (resident_id, assessed_on DESC);

-- Home care beds (家庭养老床位): a care contract for a resident at home.
CREATE TABLE care_beds (
    id                  text PRIMARY KEY,
    resident_id         text NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    provider            text NOT NULL,
    level               text NOT NULL,
    start_date          date NOT NULL,
    end_date            date,
    kit                 text[] NOT NULL DEFAULT '{}',   -- device types the contract requires
    visits_per_month    integer NOT NULL DEFAULT 0 CHECK (visits_per_month >= 0),
    services_per_month  integer NOT NULL DEFAULT 0 CHECK (services_per_month >= 0),
    created_by          text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (end_date IS NULL OR end_date >= start_date)
);
CREATE INDEX care_beds_resident ON care_beds (resident_id);

-- A service delivered under a home care bed contract (bathing, cleaning, nursing …).
CREATE TABLE care_bed_services (
    id           bigserial PRIMARY KEY,
    bed_id       text NOT NULL REFERENCES care_beds (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL,
    service      text NOT NULL,
    provider     text NOT NULL DEFAULT '',
    note         text NOT NULL DEFAULT '',
    recorded_by  text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX care_bed_services_bed ON care_bed_services (bed_id, at);

-- Population of an area (the denominators), imported from statistics: per year, age band, category
-- ('all' = everyone in the band).
CREATE TABLE care_population (
    org_node  text NOT NULL REFERENCES org_nodes (code),
    year      integer NOT NULL CHECK (year BETWEEN 1900 AND 2200),
    age_band  text NOT NULL,
    category  text NOT NULL DEFAULT 'all',
    people    integer NOT NULL CHECK (people >= 0),
    PRIMARY KEY (org_node, year, age_band, category)
);
