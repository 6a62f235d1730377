-- A decision whose rules failed (trap, fuel, timeout, bad output) is recorded too, not applied:
-- the failure's kind (snake_case, as metrics name it) and its message. Both NULL for a decision
-- that was made.
ALTER TABLE decisions ADD COLUMN error_kind TEXT;
ALTER TABLE decisions ADD COLUMN error_message TEXT;
