-- Order lines with their order's channel and date and their product's brand: each join
-- finds at most one row, so the grain stays one row per order line.

with

order_lines as (

    select * from {{ ref('stg_shop__order_lines') }}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

products as (

    select * from {{ ref('stg_catalog__products') }}

),

joined as (

    select
        order_lines.order_id,
        order_lines.line_number,
        order_lines.product_id,
        products.brand_name,
        orders.channel,
        cast(orders.ordered_at as date) as order_date,
        order_lines.quantity,
        order_lines.line_total

    from order_lines
    inner join orders
        on order_lines.order_id = orders.order_id
    left join products
        on order_lines.product_id = products.product_id

)

select * from joined
