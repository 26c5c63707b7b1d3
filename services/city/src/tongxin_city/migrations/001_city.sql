-- The last record the worker's loop `kpis` published to city.kpis per key
-- (district|kpi|period): a figure is published again only when its fingerprint (every field
-- of the record but as_of and computed_at) changed. Aggregates only: never a person.
CREATE TABLE IF NOT EXISTS city_kpis_published (
    key          text PRIMARY KEY,
    district     text NOT NULL,
    kpi          text NOT NULL,
    period       text NOT NULL,
    value        double precision,
    fingerprint  text NOT NULL,
    published_at timestamptz NOT NULL
);
