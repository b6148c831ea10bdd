with

orders as (

    select * from {{ ref('stg_orders') }}

),

final as (

    select
        cast(orders.ordered_at as date) as revenue_date,
        count(*) as order_count,
        sum(orders.amount) as revenue

    from orders
    group by 1

)

select * from final
