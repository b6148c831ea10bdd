-- Orders with their payment details. The bug planted here: an order can be paid in several
-- parts, so the join repeats the order once per payment. The join key is renamed in the
-- payments CTE, which the grain inference has to follow.

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

payments as (

    select
        payment_id,
        order_id as paid_order_id,
        payment_method,
        amount as paid_amount

    from {{ ref('stg_shop__payments') }}

),

joined as (

    select
        orders.order_id,
        orders.customer_id,
        orders.channel,
        cast(orders.ordered_at as date) as order_date,
        orders.shipping_fee,
        payments.payment_id,
        payments.payment_method,
        payments.paid_amount

    from orders
    left join payments
        on orders.order_id = payments.paid_order_id

)

select * from joined
