with

source as (

    select * from {{ source('shop', 'raw_orders') }}

),

order_items as (

    select * from {{ source('shop', 'raw_order_items') }}

),

renamed as (

    select
        ---------- ids
        cast(source.order_id as bigint) as order_id,
        cast(source.customer_id as bigint) as customer_id,
        cast(order_items.product_id as bigint) as product_id,

        ---------- numerics
        cast(source.amount as decimal(18, 2)) as amount,
        cast(order_items.quantity as integer) as quantity,
        cast(order_items.unit_price as decimal(18, 2)) as unit_price,

        ---------- timestamps
        cast(source.ordered_at as timestamp) as ordered_at

    from source
    left join order_items
        on source.order_id = order_items.order_id

)

select * from renamed
