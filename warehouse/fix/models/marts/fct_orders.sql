with

orders as (

    select * from {{ ref('stg_orders') }}

),

order_items as (

    select * from {{ ref('stg_order_items') }}

),

order_items_summary as (

    select
        order_items.order_id,
        count(*) as item_count,
        sum(order_items.quantity) as total_quantity,
        sum(order_items.line_total) as items_total

    from order_items
    group by 1

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        cast(orders.ordered_at as date) as order_date,
        order_items_summary.item_count,
        order_items_summary.total_quantity,
        order_items_summary.items_total,
        orders.amount

    from orders
    left join order_items_summary
        on orders.order_id = order_items_summary.order_id

)

select * from final
