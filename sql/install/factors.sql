-------------------------------------------------------------------------------
-- Recommendations III: latent-factor models (implicit ALS, biased SVD) with
-- fold-in of each user's current rows (docs/recommendations.md)
-------------------------------------------------------------------------------

CREATE TYPE crm.factor_model;

CREATE FUNCTION crm._factor_model_in(cstring) RETURNS crm.factor_model
AS 'MODULE_PATHNAME', 'crm_factor_model_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._factor_model_in(cstring) IS 'Input function of crm.factor_model (the JSON text form, validated).';
CREATE FUNCTION crm._factor_model_out(crm.factor_model) RETURNS cstring
AS 'MODULE_PATHNAME', 'crm_factor_model_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._factor_model_out(crm.factor_model) IS 'Output function of crm.factor_model (JSON).';
CREATE FUNCTION crm._factor_model_recv(internal) RETURNS crm.factor_model
AS 'MODULE_PATHNAME', 'crm_factor_model_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._factor_model_recv(internal) IS 'Binary input of crm.factor_model (validated).';
CREATE FUNCTION crm._factor_model_send(crm.factor_model) RETURNS bytea
AS 'MODULE_PATHNAME', 'crm_factor_model_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._factor_model_send(crm.factor_model) IS 'Binary output of crm.factor_model.';

CREATE TYPE crm.factor_model (
    INPUT = crm._factor_model_in,
    OUTPUT = crm._factor_model_out,
    RECEIVE = crm._factor_model_recv,
    SEND = crm._factor_model_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = extended);
COMMENT ON TYPE crm.factor_model IS
'A fitted latent-factor model (implicit ALS or biased SVD; versioned): user and item factors, biases, '
'hyper-parameters, training error and the relation it was fitted on. Text form: JSON; binary form: the versioned bytes.';

CREATE FUNCTION crm.als_fit(
    ratings regclass, user_col name, item_col name, rating_col name,
    factors integer DEFAULT 16, regularization double precision DEFAULT 5, alpha double precision DEFAULT 2,
    iterations integer DEFAULT 10, seed integer DEFAULT 0)
RETURNS crm.factor_model
AS 'MODULE_PATHNAME', 'crm_als_fit'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.als_fit(regclass, name, name, name, integer, double precision, double precision, integer, integer) IS
'Implicit ALS (Hu, Koren and Volinsky 2008) on purchase data: confidence 1 + alpha * rating, plain regularization * I, '
'N(0, 0.01) start seeded by seed; both cores. Pass a column of ones to binarise. For crm.als_recommend_batch.';

CREATE FUNCTION crm.svd_fit(
    ratings regclass, user_col name, item_col name, rating_col name,
    factors integer DEFAULT 100, epochs integer DEFAULT 20, learning_rate double precision DEFAULT 0.005,
    regularization double precision DEFAULT 0.02, init_std double precision DEFAULT 0.1, seed integer DEFAULT 0)
RETURNS crm.factor_model
AS 'MODULE_PATHNAME', 'crm_svd_fit'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.svd_fit(regclass, name, name, name, integer, integer, double precision, double precision, double precision, integer) IS
'Biased matrix factorisation by SGD with the semantics and defaults of Surprise''s SVD: '
'mean + user bias + item bias + q_i . p_u, for rating prediction (crm.svd_predict).';

CREATE FUNCTION crm.factor_model_info(model crm.factor_model)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'crm_factor_model_info'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.factor_model_info(crm.factor_model) IS
'Everything about a latent-factor model but its factors: kind, hyper-parameters, training error, users, items and '
'the relation and columns it was fitted on.';

CREATE FUNCTION crm.als_recommend_batch(
    model crm.factor_model, ratings regclass, user_col name, item_col name, rating_col name,
    users bigint[] DEFAULT NULL, n integer DEFAULT 10, diversity double precision DEFAULT 0, force boolean DEFAULT false)
RETURNS TABLE (user_id bigint, rank integer, item_id bigint, score double precision, reason text)
AS 'MODULE_PATHNAME', 'crm_als_recommend_batch'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.als_recommend_batch(crm.factor_model, regclass, name, name, name, bigint[], integer, double precision, boolean) IS
'Top-n by implicit ALS for every user (or users): each user''s factors are solved from the user''s current rows and '
'the model''s item factors (fold-in), so new purchases and new users count at once. Known items are excluded. '
'A model fitted on another relation or columns is refused unless force.';

CREATE FUNCTION crm.svd_predict(model crm.factor_model, user_id bigint, item_id bigint)
RETURNS double precision
AS 'MODULE_PATHNAME', 'crm_svd_predict'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.svd_predict(crm.factor_model, bigint, bigint) IS
'Predicted rating from the stored SVD factors; an unknown user or item contributes no bias or factor term (an '
'unknown pair gets the global mean); clipped to the training rating scale.';

CREATE FUNCTION crm.svd_predict(
    model crm.factor_model, ratings regclass, user_col name, item_col name, rating_col name,
    users bigint[], items bigint[], force boolean DEFAULT false)
RETURNS TABLE (user_id bigint, item_id bigint, prediction double precision)
AS 'MODULE_PATHNAME', 'crm_svd_predict_folded'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.svd_predict(crm.factor_model, regclass, name, name, name, bigint[], bigint[], boolean) IS
'Predicted ratings of (users[i], items[i]) with each user''s bias and factors solved from the user''s current ratings '
'(ridge fold-in with the item terms fixed): works for users the model has never seen.';
