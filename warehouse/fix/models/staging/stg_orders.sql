with

source as (

    select * from {{ source('shop', 'raw_orders') }}

),

renamed as (

    select
        ---------- ids
        cast(order_id as bigint) as order_id,
        cast(customer_id as bigint) as customer_id,

        ---------- numerics
        cast(amount as decimal(18, 2)) as amount,

        ---------- timestamps
        cast(ordered_at as timestamp) as ordered_at

    from source

)

select * from renamed
