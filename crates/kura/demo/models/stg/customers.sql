/* kura
description = "Customers, one row each."
owner = "data-team"
*/
SELECT customer_id, name, email, country, segment, signed_up_on
FROM raw.customers
