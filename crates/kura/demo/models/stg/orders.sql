/* kura
description = "Orders as the shop system records them, typed and with the Tokyo wall-clock time."
owner = "data-team"
[columns]
ordered_at = "When the order was placed (UTC instant)."
ordered_at_local = "The same moment on a clock in Tokyo."
*/
SELECT
  order_id,
  customer_id,
  ordered_at,
  DATETIME(ordered_at, 'Asia/Tokyo') AS ordered_at_local,
  status,
  total_jpy,
  NULLIF(coupon_code, '') AS coupon_code
FROM raw.orders
