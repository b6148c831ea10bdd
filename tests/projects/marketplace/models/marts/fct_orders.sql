-- Lines and payments rolled up to one row per order before the joins: one row per order.

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

order_lines as (

    select * from {{ ref('int_order_lines') }}

),

payments as (

    select * from {{ ref('stg_shop__payments') }}

),

order_lines_summary as (

    select
        order_lines.order_id,
        count(*) as line_count,
        sum(order_lines.quantity) as total_quantity,
        sum(order_lines.line_total) as items_total

    from order_lines
    group by 1

),

payments_summary as (

    select
        payments.order_id,
        count(*) as payment_count,
        sum(payments.amount) as paid_total

    from payments
    group by payments.order_id

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        orders.channel,
        cast(orders.ordered_at as date) as order_date,
        order_lines_summary.line_count,
        order_lines_summary.total_quantity,
        order_lines_summary.items_total,
        orders.shipping_fee,
        order_lines_summary.items_total + orders.shipping_fee as order_total,
        payments_summary.payment_count,
        payments_summary.paid_total

    from orders
    left join order_lines_summary
        on orders.order_id = order_lines_summary.order_id
    left join payments_summary
        on orders.order_id = payments_summary.order_id

)

select * from final
