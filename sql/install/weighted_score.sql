-------------------------------------------------------------------------------
-- Weighted composite customer score
-------------------------------------------------------------------------------

CREATE FUNCTION crm.weighted_score(features double precision[], weights double precision[])
RETURNS double precision
AS 'MODULE_PATHNAME', 'crm_weighted_score'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION crm.weighted_score(double precision[], double precision[]) IS
'Composite customer score C = sum_j weights[j] * features[j]. Arrays must have equal length; a NULL feature gives '
'NULL; NaN or Infinity is an error. Normalise features first (see docs/rfm.md: z-score or min-max with window '
'functions).';
