with

source as (

    select * from {{ source('ads', 'spend') }}

),

renamed as (

    select
        ---------- keys
        cast(spend_date as date) as spend_date,
        cast(channel as varchar) as channel,

        ---------- numerics
        cast(spend_usd as decimal(18, 2)) as spend_usd

    from source

)

select * from renamed
