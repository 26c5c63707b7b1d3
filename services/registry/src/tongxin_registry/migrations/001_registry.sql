-- The registry keeps all of its state in the platform's event store and the roster read model
-- (created by the projection in its own schema); nothing else yet.
SELECT 1;
