-- Sales per day and channel next to the ad spend. Two slips planted: it reads the ads.spend
-- source directly, and it sums shipping_fee over int_orders_with_payments, whose rows repeat
-- an order once per payment. The join to spend, on its full grain, is fine.

with

orders as (

    select * from {{ ref('int_orders_with_payments') }}

),

spend as (

    select * from {{ source('ads', 'spend') }}

),

daily as (

    select
        orders.order_date,
        orders.channel,
        count(distinct orders.order_id) as order_count,
        sum(orders.shipping_fee) as shipping_revenue,
        sum(orders.paid_amount) as paid_revenue

    from orders
    group by 1, 2

),

final as (

    select
        daily.order_date,
        daily.channel,
        daily.order_count,
        daily.shipping_revenue,
        daily.paid_revenue,
        cast(spend.spend_usd as decimal(18, 2)) as ad_spend_usd

    from daily
    left join spend
        on daily.order_date = spend.spend_date
        and daily.channel = spend.channel

)

select * from final
