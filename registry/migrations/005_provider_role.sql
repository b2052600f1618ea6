-- A service provider's staff (服务商) sign in with the role ``provider``: they see their provider's
-- service orders and nothing of the registry.
ALTER TABLE users DROP CONSTRAINT IF EXISTS users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('admin', 'supervisor', 'operator', 'responder', 'family', 'provider'));
