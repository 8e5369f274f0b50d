-------------------------------------------------------------------------------
-- Recommendations II: item-kNN, content-based, hybrid, popular (cold start),
-- diversity, and one evaluation function for every method
-------------------------------------------------------------------------------
-- Every top-N function returns (user_id, rank, item_id, score, reason): reason
-- says why the item is there (similar_items, similar_users, content, hybrid,
-- popular_in_group, popular). Lists are filled up from popularity, so a new
-- user gets the popular items and every user gets n items while the catalogue
-- has them.

CREATE FUNCTION crm.itemknn_fit(
    ratings regclass, user_col name, item_col name, rating_col name,
    k integer DEFAULT 100, similarity text DEFAULT 'cosine', items bigint[] DEFAULT NULL)
RETURNS TABLE (item_id bigint, rank integer, neighbour_id bigint, similarity double precision)
AS 'MODULE_PATHNAME', 'crm_itemknn_fit'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.itemknn_fit(regclass, name, name, name, integer, text, bigint[]) IS
'Each item''s k most similar items (similarity > 0), for storing in a table that crm.itemknn_recommend_batch and '
'crm.similar_items read (model => ''my_neighbours''). similarity: cosine (binary has-bought vectors), adjusted_cosine, '
'pearson, msd. items: only these items'' rows, to refresh changed items (delete their old rows first).';

CREATE FUNCTION crm.similar_items(
    ratings regclass, user_col name, item_col name, rating_col name, item bigint,
    n integer DEFAULT 10, similarity text DEFAULT 'cosine')
RETURNS TABLE (rank integer, item_id bigint, score double precision, reason text)
AS 'MODULE_PATHNAME', 'crm_similar_items'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.similar_items(regclass, name, name, name, bigint, integer, text) IS
'The n items most similar to item, computed from the current ratings ("customers who bought this also bought"). '
'An item nobody has rated yet has none (use crm.content_similar_items).';

CREATE FUNCTION crm.similar_items(model regclass, item bigint, n integer DEFAULT 10)
RETURNS TABLE (rank integer, item_id bigint, score double precision, reason text)
AS 'MODULE_PATHNAME', 'crm_similar_items_stored'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.similar_items(regclass, bigint, integer) IS
'The n most similar items of item from stored neighbour lists (a table with the columns of crm.itemknn_fit: '
'item_id, neighbour_id, similarity); as fresh as the last refresh of that table.';

CREATE FUNCTION crm.itemknn_recommend_batch(
    ratings regclass, user_col name, item_col name, rating_col name, users bigint[] DEFAULT NULL,
    n integer DEFAULT 10, k integer DEFAULT 100, similarity text DEFAULT 'cosine', model regclass DEFAULT NULL,
    diversity double precision DEFAULT 0)
RETURNS TABLE (user_id bigint, rank integer, item_id bigint, score double precision, reason text)
AS 'MODULE_PATHNAME', 'crm_itemknn_recommend_batch'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.itemknn_recommend_batch(regclass, name, name, name, bigint[], integer, integer, text, regclass, double precision) IS
'Item-based top-n for every user (or users): score = summed similarity of the user''s current items that are among '
'the item''s k neighbours; items the user has are excluded. model: stored neighbour lists (crm.itemknn_fit) instead of '
'building them. diversity in [0, 1]: Maximal Marginal Relevance re-ranking.';

CREATE FUNCTION crm.itemknn_predict(
    ratings regclass, user_col name, item_col name, rating_col name, users bigint[], items bigint[],
    k integer DEFAULT 40, min_k integer DEFAULT 1, similarity text DEFAULT 'pearson')
RETURNS TABLE (user_id bigint, item_id bigint, prediction double precision)
AS 'MODULE_PATHNAME', 'crm_itemknn_predict'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.itemknn_predict(regclass, name, name, name, bigint[], bigint[], integer, integer, text) IS
'Predicted ratings of (users[i], items[i]) by mean-centred item-based k-NN (Surprise KNNWithMeans, user_based = '
'False): the k items the user rated that are most similar to the item, similarity > 0; fewer than min_k -> the '
'item''s mean; unknown user or item -> the global mean; clipped to the rating scale.';

CREATE FUNCTION crm.userknn_recommend_batch(
    ratings regclass, user_col name, item_col name, rating_col name, users bigint[] DEFAULT NULL,
    n integer DEFAULT 10, k integer DEFAULT 40, neighbours text DEFAULT 'binary',
    diversity double precision DEFAULT 0)
RETURNS TABLE (user_id bigint, rank integer, item_id bigint, score double precision, reason text)
AS 'MODULE_PATHNAME', 'crm_userknn_recommend_batch'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.userknn_recommend_batch(regclass, name, name, name, bigint[], integer, integer, text, double precision) IS
'crm.cf_recommend_batch in the shape of the other top-n functions (reason column) and with the diversity option.';

CREATE FUNCTION crm.content_recommend_batch(
    ratings regclass, user_col name, item_col name, rating_col name,
    attributes regclass, attribute_item_col name, attribute_col name,
    users bigint[] DEFAULT NULL, n integer DEFAULT 10, diversity double precision DEFAULT 0)
RETURNS TABLE (user_id bigint, rank integer, item_id bigint, score double precision, reason text)
AS 'MODULE_PATHNAME', 'crm_content_recommend_batch'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.content_recommend_batch(regclass, name, name, name, regclass, name, name, bigint[], integer, double precision) IS
'Content-based top-n: the cosine of each item''s TF-IDF attribute vector to the user''s profile (the normalised sum '
'of the vectors of the user''s items). attribute_col: text[] per item, or one value per row (key/value rows). '
'Reaches items nobody has bought yet.';

CREATE FUNCTION crm.content_similar_items(
    attributes regclass, attribute_item_col name, attribute_col name, item bigint, n integer DEFAULT 10)
RETURNS TABLE (rank integer, item_id bigint, score double precision, reason text)
AS 'MODULE_PATHNAME', 'crm_content_similar_items'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.content_similar_items(regclass, name, name, bigint, integer) IS
'The n items whose TF-IDF attribute vectors are most similar (cosine) to the item''s: "items like this" for a new '
'product without sales.';

CREATE FUNCTION crm.hybrid_recommend_batch(
    ratings regclass, user_col name, item_col name, rating_col name,
    attributes regclass, attribute_item_col name, attribute_col name,
    users bigint[] DEFAULT NULL, n integer DEFAULT 10, k integer DEFAULT 100,
    weight double precision DEFAULT 0.9, min_support integer DEFAULT 1, new_item_slots integer DEFAULT NULL,
    diversity double precision DEFAULT 0)
RETURNS TABLE (user_id bigint, rank integer, item_id bigint, score double precision, reason text)
AS 'MODULE_PATHNAME', 'crm_hybrid_recommend_batch'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.hybrid_recommend_batch(regclass, name, name, name, regclass, name, name, bigint[], integer, integer, double precision, integer, integer, double precision) IS
'Item-kNN and content blended: weight * collaborative + (1 - weight) * content (each scaled to the user''s best, '
'the user''s items weighted by their ratings). New items (fewer than min_support ratings) enter where the '
'content-based list of the same length has them, at most new_item_slots of them (NULL: no limit).';

CREATE FUNCTION crm.popular_recommend_batch(
    ratings regclass, user_col name, item_col name, rating_col name, users bigint[] DEFAULT NULL,
    n integer DEFAULT 10, customers regclass DEFAULT NULL, customer_col name DEFAULT NULL, group_col name DEFAULT NULL)
RETURNS TABLE (user_id bigint, rank integer, item_id bigint, score double precision, reason text)
AS 'MODULE_PATHNAME', 'crm_popular_recommend_batch'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.popular_recommend_batch(regclass, name, name, name, bigint[], integer, regclass, name, name) IS
'Cold start: the items most users of the user''s group have (group_col of customers: segment, cluster, region), '
'then the most popular overall; score = number of users. Items the user has are excluded.';

CREATE FUNCTION crm.reco_evaluate(
    ratings regclass, user_col name, item_col name, rating_col name, method text,
    folds integer DEFAULT 5, fold_col name DEFAULT NULL, n integer DEFAULT 10,
    relevant_threshold double precision DEFAULT 4, implicit boolean DEFAULT false, options jsonb DEFAULT NULL)
RETURNS TABLE (fold integer, test_ratings bigint, users bigint, rmse double precision, mae double precision,
               precision_at_n double precision, recall_at_n double precision, ndcg_at_n double precision,
               map_at_n double precision, coverage double precision, intra_list_diversity double precision,
               mean_popularity double precision)
AS 'MODULE_PATHNAME', 'crm_reco_evaluate'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.reco_evaluate(regclass, name, name, name, text, integer, name, integer, double precision, boolean, jsonb) IS
'Cross-validation of a top-n method (userknn, itemknn, content, hybrid, popular, random, als, svd): per fold '
'RMSE/MAE (methods that predict ratings), precision, recall, NDCG and MAP at n, catalogue coverage, intra-list diversity and mean '
'popularity. fold_col: fixed folds (0 .. folds-1 evaluated; other values always train). options: the method''s '
'hyper-parameters and item attributes as JSON.';
