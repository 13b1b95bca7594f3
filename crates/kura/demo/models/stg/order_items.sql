/* kura
description = "Order lines with their revenue."
owner = "data-team"
*/
SELECT order_id, line_no, product_id, product_name, quantity, unit_price,
       quantity * unit_price AS line_revenue_jpy
FROM raw.order_items
