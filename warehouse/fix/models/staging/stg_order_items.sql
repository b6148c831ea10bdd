with

source as (

    select * from {{ source('shop', 'raw_order_items') }}

),

renamed as (

    select
        ---------- ids
        cast(order_item_id as bigint) as order_item_id,
        cast(order_id as bigint) as order_id,
        cast(product_id as bigint) as product_id,

        ---------- numerics
        cast(quantity as integer) as quantity,
        cast(unit_price as decimal(18, 2)) as unit_price,
        cast(quantity as integer) * cast(unit_price as decimal(18, 2)) as line_total

    from source

)

select * from renamed
