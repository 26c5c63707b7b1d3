-- Screening results: the service's own table (never a projection, never on the wire). Item
-- answers, the total and whether a self-harm item was answered above 0 are sealed with the
-- student's key (``sealed``: the kit's Sealed as JSON), so that erasing the student shreds
-- them; in clear only what ScreeningFlagged already says (the band and the risk flag) and
-- where and when it was recorded. Written in the screening command's unit of work.
CREATE TABLE screening_results (
    screening_id        text PRIMARY KEY,
    student_ref         text        NOT NULL,
    district            text        NOT NULL,
    school_id           text        NOT NULL,
    school_year         text        NOT NULL,
    instrument_id       text        NOT NULL,
    instrument_revision integer     NOT NULL,
    completed_on        date        NOT NULL,
    band                text        NOT NULL,
    risk                text CHECK (risk IN ('elevated', 'high')),
    sealed              jsonb       NOT NULL,
    recorded_by         text        NOT NULL,
    recorded_at         timestamptz NOT NULL
);
CREATE INDEX screening_results_by_student ON screening_results (student_ref, completed_on);
