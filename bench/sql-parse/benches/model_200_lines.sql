-- A GA4 sessions-and-orders model of the size analysts write: wildcard tables, the
-- UNNEST parameter idiom, date functions with BigQuery's argument order, windows, QUALIFY.
WITH events AS (
  SELECT
    PARSE_DATE('%Y%m%d', event_date) AS event_date,
    TIMESTAMP_MICROS(event_timestamp) AS event_at,
    event_name,
    user_pseudo_id,
    (SELECT value.int_value FROM UNNEST(event_params) WHERE key = 'ga_session_id') AS ga_session_id,
    (SELECT value.int_value FROM UNNEST(event_params) WHERE key = 'ga_session_number') AS session_number,
    (SELECT value.string_value FROM UNNEST(event_params) WHERE key = 'page_location') AS page_location,
    (SELECT value.string_value FROM UNNEST(event_params) WHERE key = 'page_title') AS page_title,
    (SELECT value.string_value FROM UNNEST(event_params) WHERE key = 'page_referrer') AS page_referrer,
    (SELECT value.string_value FROM UNNEST(event_params) WHERE key = 'source') AS source,
    (SELECT value.string_value FROM UNNEST(event_params) WHERE key = 'medium') AS medium,
    (SELECT value.string_value FROM UNNEST(event_params) WHERE key = 'campaign') AS campaign,
    (SELECT value.int_value FROM UNNEST(event_params) WHERE key = 'engagement_time_msec') AS engagement_time_msec,
    (SELECT value.double_value FROM UNNEST(event_params) WHERE key = 'value') AS event_value,
    _TABLE_SUFFIX AS table_suffix
  FROM `analytics.events_*`
  WHERE _TABLE_SUFFIX BETWEEN '20240101' AND '20240131'
    AND event_name IN ('page_view', 'session_start', 'purchase', 'add_to_cart', 'begin_checkout')
),

sessions AS (
  SELECT
    user_pseudo_id,
    ga_session_id,
    CONCAT(user_pseudo_id, '-', CAST(ga_session_id AS STRING)) AS session_key,
    MIN(event_at) AS session_start_at,
    MAX(event_at) AS session_end_at,
    TIMESTAMP_DIFF(MAX(event_at), MIN(event_at), SECOND) AS session_seconds,
    COUNTIF(event_name = 'page_view') AS page_views,
    COUNTIF(event_name = 'add_to_cart') AS add_to_carts,
    COUNTIF(event_name = 'begin_checkout') AS checkouts,
    COUNTIF(event_name = 'purchase') AS purchases,
    SUM(IFNULL(engagement_time_msec, 0)) / 1000 AS engaged_seconds,
    LOGICAL_OR(event_name = 'purchase') AS converted,
    ANY_VALUE(source) AS source,
    ANY_VALUE(medium) AS medium,
    ANY_VALUE(campaign) AS campaign,
    MIN(session_number) AS session_number
  FROM events
  WHERE ga_session_id IS NOT NULL
  GROUP BY user_pseudo_id, ga_session_id
),

landing_pages AS (
  SELECT
    user_pseudo_id,
    ga_session_id,
    REGEXP_EXTRACT(page_location, r'https?://[^/]+(/[^?#]*)') AS landing_path,
    page_title AS landing_title
  FROM events
  WHERE event_name = 'page_view'
  QUALIFY ROW_NUMBER() OVER (PARTITION BY user_pseudo_id, ga_session_id ORDER BY event_at) = 1
),

channel_rules AS (
  SELECT
    s.*,
    CASE
      WHEN s.source IS NULL AND s.medium IS NULL THEN 'Direct'
      WHEN s.medium = 'organic' THEN 'Organic Search'
      WHEN REGEXP_CONTAINS(s.medium, r'^(cpc|ppc|paidsearch)$') THEN 'Paid Search'
      WHEN REGEXP_CONTAINS(s.source, r'(facebook|instagram|twitter|linkedin)') THEN
        IF(REGEXP_CONTAINS(s.medium, r'(cpc|paid)'), 'Paid Social', 'Organic Social')
      WHEN s.medium = 'email' THEN 'Email'
      WHEN s.medium = 'referral' THEN 'Referral'
      WHEN STARTS_WITH(IFNULL(s.campaign, ''), 'aff_') THEN 'Affiliates'
      ELSE 'Unassigned'
    END AS default_channel_group
  FROM sessions AS s
),

orders AS (
  SELECT
    o.order_id,
    o.customer_id,
    o.user_pseudo_id,
    TIMESTAMP_TRUNC(o.ordered_at, DAY) AS order_day,
    DATE(o.ordered_at, 'Asia/Tokyo') AS order_date_jst,
    DATE_TRUNC(DATE(o.ordered_at, 'Asia/Tokyo'), MONTH) AS order_month_jst,
    o.amount,
    o.quantity,
    SAFE_DIVIDE(o.amount, NULLIF(o.quantity, 0)) AS unit_price,
    o.status
  FROM shop.orders AS o
  WHERE o.status IN ('paid', 'shipped', 'delivered')
    AND DATE(o.ordered_at, 'Asia/Tokyo') BETWEEN DATE '2024-01-01' AND DATE '2024-01-31'
),

customer_history AS (
  SELECT
    customer_id,
    order_id,
    amount,
    order_date_jst,
    ROW_NUMBER() OVER w AS order_number,
    SUM(amount) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS lifetime_value,
    LAG(order_date_jst) OVER w AS previous_order_date,
    DATE_DIFF(order_date_jst, LAG(order_date_jst) OVER w, DAY) AS days_since_previous
  FROM orders
  WINDOW w AS (PARTITION BY customer_id ORDER BY order_date_jst, order_id)
),

customers AS (
  SELECT
    c.customer_id,
    c.country,
    c.segment,
    c.signed_up_on,
    DATE_DIFF(DATE '2024-01-31', c.signed_up_on, MONTH) AS tenure_months,
    FORMAT_DATE('%Y-%m', c.signed_up_on) AS signup_cohort
  FROM shop.customers AS c
),

session_orders AS (
  SELECT
    cr.session_key,
    cr.user_pseudo_id,
    cr.default_channel_group,
    cr.session_start_at,
    cr.session_seconds,
    cr.page_views,
    cr.converted,
    lp.landing_path,
    lp.landing_title,
    o.order_id,
    o.amount,
    o.unit_price,
    ch.order_number,
    ch.lifetime_value,
    ch.days_since_previous
  FROM channel_rules AS cr
  LEFT JOIN landing_pages AS lp
    ON lp.user_pseudo_id = cr.user_pseudo_id AND lp.ga_session_id = cr.ga_session_id
  LEFT JOIN orders AS o
    ON o.user_pseudo_id = cr.user_pseudo_id
    AND o.order_day = TIMESTAMP_TRUNC(cr.session_start_at, DAY)
  LEFT JOIN customer_history AS ch
    ON ch.order_id = o.order_id
),

daily AS (
  SELECT
    DATE(session_start_at, 'Asia/Tokyo') AS day_jst,
    default_channel_group,
    COUNT(DISTINCT session_key) AS sessions,
    COUNT(DISTINCT user_pseudo_id) AS users,
    COUNTIF(converted) AS converting_sessions,
    COUNT(DISTINCT order_id) AS orders,
    SUM(IFNULL(amount, 0)) AS revenue,
    AVG(session_seconds) AS avg_session_seconds,
    APPROX_QUANTILES(session_seconds, 4) AS session_seconds_quartiles,
    STRING_AGG(DISTINCT landing_path, ', ' ORDER BY landing_path LIMIT 5) AS top_landing_paths,
    COUNTIF(order_number = 1) AS first_orders,
    AVG(days_since_previous) AS avg_days_between_orders,
    MIN(session_start_at) AS first_session_at,
    MAX(session_start_at) AS last_session_at,
    SUM(page_views) AS page_views,
    MAX(lifetime_value) AS max_lifetime_value
  FROM session_orders
  GROUP BY day_jst, default_channel_group
)

SELECT
  d.day_jst,
  FORMAT_DATE('%a %d %b', d.day_jst) AS day_label,
  EXTRACT(DAYOFWEEK FROM d.day_jst) AS weekday,
  DATE_TRUNC(d.day_jst, WEEK(MONDAY)) AS week_start,
  d.default_channel_group,
  d.sessions,
  d.users,
  d.converting_sessions,
  SAFE_DIVIDE(d.converting_sessions, d.sessions) AS conversion_rate,
  d.orders,
  ROUND(d.revenue, 2) AS revenue,
  ROUND(SAFE_DIVIDE(d.revenue, d.orders), 2) AS average_order_value,
  d.avg_session_seconds,
  d.session_seconds_quartiles[OFFSET(2)] AS median_session_seconds,
  d.top_landing_paths,
  d.first_orders,
  d.orders - d.first_orders AS repeat_orders,
  d.avg_days_between_orders,
  d.page_views,
  SAFE_DIVIDE(d.page_views, d.sessions) AS pages_per_session,
  TIMESTAMP_DIFF(d.last_session_at, d.first_session_at, MINUTE) AS active_minutes,
  d.max_lifetime_value,
  SUM(d.revenue) OVER (
    PARTITION BY d.default_channel_group
    ORDER BY d.day_jst
    ROWS BETWEEN 6 PRECEDING AND CURRENT ROW
  ) AS revenue_7d,
  SAFE_DIVIDE(
    d.revenue,
    SUM(d.revenue) OVER (PARTITION BY d.day_jst)
  ) AS channel_share,
  RANK() OVER (PARTITION BY d.day_jst ORDER BY d.revenue DESC) AS channel_rank,
  (SELECT COUNT(*) FROM customers AS c WHERE c.tenure_months < 1) AS new_customers_total,
  CURRENT_DATE('Asia/Tokyo') AS built_on
FROM daily AS d
WHERE d.sessions > 0
  AND d.day_jst >= DATE_SUB(DATE '2024-01-31', INTERVAL 30 DAY)
ORDER BY d.day_jst, channel_rank
