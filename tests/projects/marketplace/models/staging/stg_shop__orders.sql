with

source as (

    select * from {{ source('shop', 'orders') }}

),

renamed as (

    select
        ---------- ids
        cast(order_id as bigint) as order_id,
        cast(customer_id as bigint) as customer_id,

        ---------- strings
        cast(channel as varchar) as channel,

        ---------- numerics
        cast(shipping_fee as decimal(18, 2)) as shipping_fee,

        ---------- timestamps
        cast(ordered_at as timestamp) as ordered_at

    from source

)

select * from renamed
