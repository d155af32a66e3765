-- An account's unsent emails of one kind, found without reading the whole
-- queue: a newer link cancels the email of the older one, and a sign-up
-- that replaces a pending account cancels its verification emails. Only
-- pending rows: the queue's history is not indexed twice.
CREATE INDEX outbox_pending_by_user ON outbox (user_id, kind) WHERE status = 'pending';
