with

source as (

    select * from {{ source('shop', 'payments') }}

),

renamed as (

    select
        ---------- ids
        cast(payment_id as bigint) as payment_id,
        cast(order_id as bigint) as order_id,

        ---------- strings
        cast(method as varchar) as payment_method,

        ---------- numerics
        cast(amount as decimal(18, 2)) as amount,

        ---------- timestamps
        cast(paid_at as timestamp) as paid_at

    from source

)

select * from renamed
