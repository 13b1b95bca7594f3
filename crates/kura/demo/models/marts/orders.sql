/* kura
materialized = "table"
partition_by = "order_date"
description = "One row per order with its lines summed; the table analysts start from."
owner = "data-team"
tags = ["sales"]
[columns]
order_date = "The order's day in Tokyo."
is_completed = "Delivered, not cancelled or returned."

[[checks]]
type = "unique"
columns = "order_id"

[[checks]]
type = "not_null"
column = "customer_id"

[[checks]]
type = "accepted_values"
column = "status"
values = ["shipped", "delivered", "returned", "cancelled"]

[[checks]]
type = "relationships"
column = "customer_id"
to = "marts.customers"
field = "customer_id"

[[checks]]
type = "accepted_range"
column = "total_jpy"
min = 0
severity = "warn"
*/
WITH lines AS (
  SELECT order_id, COUNT(*) AS lines, SUM(quantity) AS units
  FROM stg.order_items
  GROUP BY order_id
)
SELECT
  o.order_id,
  o.customer_id,
  DATE(o.ordered_at_local) AS order_date,
  o.ordered_at,
  o.status,
  o.status = 'delivered' AS is_completed,
  o.total_jpy,
  o.coupon_code IS NOT NULL AS used_coupon,
  COALESCE(l.lines, 0) AS lines,
  COALESCE(l.units, 0) AS units
FROM stg.orders AS o
LEFT JOIN lines AS l ON l.order_id = o.order_id
