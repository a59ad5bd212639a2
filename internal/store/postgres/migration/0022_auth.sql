-- 0022_auth: a corp's authorisation of the zone (授权信息: status 1–7, 0
-- meaning the default 5; its period) and the editions (版本) each member is authorised for. A member's
-- editions NULL means the default (all three); '[]' means not authorised.
ALTER TABLE corp ADD COLUMN auth_status INTEGER NOT NULL DEFAULT 0;
ALTER TABLE corp ADD COLUMN auth_begin BIGINT;
ALTER TABLE corp ADD COLUMN auth_end BIGINT;
ALTER TABLE member ADD COLUMN editions TEXT;
