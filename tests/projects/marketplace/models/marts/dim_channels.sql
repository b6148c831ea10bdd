with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

final as (

    select distinct orders.channel

    from orders

)

select * from final
