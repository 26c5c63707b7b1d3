-- The shape (a hash of the DDL) each live read model's tables were created with: when a new
-- version of a service changes a projection's tables, its start drops them, forgets the
-- group's offsets and stream versions, and the worker rebuilds the model from offset 0.
CREATE TABLE read_model_shapes (
    schema_name text        PRIMARY KEY,
    shape       text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
