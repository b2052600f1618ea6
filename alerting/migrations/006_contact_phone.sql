-- A contact's phone, so the operator calls the same people the family notices go to (one list).
ALTER TABLE notification_contacts ADD COLUMN IF NOT EXISTS phone text NOT NULL DEFAULT '';
