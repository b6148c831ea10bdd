-- stg_orders is one row per order. Returns every order_id that is null or appears more
-- than once, with its row count: the fan-out of incident WT-05. Must return no rows.

select
    order_id,
    count(*) as n_rows

from {{ ref('stg_orders') }}
group by order_id
having count(*) > 1 or order_id is null
