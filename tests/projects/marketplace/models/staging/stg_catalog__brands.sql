with

source as (

    select * from {{ source('catalog', 'brands') }}

),

renamed as (

    select
        cast(brand_id as bigint) as brand_id,
        cast(brand_name as varchar) as brand_name

    from source

)

select * from renamed
