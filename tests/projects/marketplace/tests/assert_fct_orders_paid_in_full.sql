-- Every order's payments add up to its total (items plus shipping). Returns the orders that
-- disagree. Must return no rows.

select
    order_id,
    order_total,
    paid_total

from {{ ref('fct_orders') }}
where paid_total is distinct from order_total
