-- Which streams belong to which school now lives in the platform's stream_tags (tag
-- 'school:<id>'), written in the command's unit of work; school_streams is kept as it was.
INSERT INTO stream_tags (tag, stream_id)
SELECT 'school:' || school_id, stream_id FROM school_streams
ON CONFLICT DO NOTHING;
