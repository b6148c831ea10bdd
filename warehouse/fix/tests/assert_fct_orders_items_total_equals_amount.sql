-- Every order's line items add up to its amount. A fan-out upstream (or an order without
-- items) breaks this. Returns the orders that disagree. Must return no rows.

select
    order_id,
    amount,
    items_total

from {{ ref('fct_orders') }}
where items_total is distinct from amount
