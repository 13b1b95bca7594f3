/* kura
materialized = "table"
description = "One row per customer with their order history."
owner = "data-team"
tags = ["sales"]
*/
SELECT
  c.customer_id,
  c.segment,
  c.country,
  c.signed_up_on,
  COUNT(o.order_id) AS orders,
  COUNTIF(o.is_completed) AS completed_orders,
  COALESCE(SUM(IF(o.is_completed, o.total_jpy, 0)), 0) AS revenue_jpy,
  MIN(o.order_date) AS first_order_date,
  MAX(o.order_date) AS last_order_date
FROM stg.customers AS c
LEFT JOIN marts.orders AS o ON o.customer_id = c.customer_id
GROUP BY c.customer_id, c.segment, c.country, c.signed_up_on
