-- A service's own periodic loops (tongxin_platform.loops) beat as parts of kind 'loop'.
ALTER TABLE worker_liveness DROP CONSTRAINT worker_liveness_kind_check;
ALTER TABLE worker_liveness ADD CONSTRAINT worker_liveness_kind_check
    CHECK (kind IN ('relay', 'consumer', 'deadlines', 'notifications', 'loop'));
