-- DPoP (RFC 9449): a refresh family started with a proof is bound to the JWK thumbprint
-- (RFC 7638) of the proof's key; every refresh of it needs a proof signed by that key, and its
-- access tokens carry the thumbprint as cnf.jkt. NULL: an unbound (bearer) family.
ALTER TABLE refresh_families
    ADD COLUMN dpop_jkt text CHECK (dpop_jkt IS NULL OR length(dpop_jkt) BETWEEN 1 AND 128);
