with

orders as (

    select * from {{ ref('stg_orders') }}

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        cast(orders.ordered_at as date) as order_date,
        count(*) as item_count,
        sum(orders.quantity) as total_quantity,
        sum(orders.amount) as amount

    from orders
    group by 1, 2, 3, 4

)

select * from final
