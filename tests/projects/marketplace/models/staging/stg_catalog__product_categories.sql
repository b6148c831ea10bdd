with

source as (

    select * from {{ source('catalog', 'product_categories') }}

),

renamed as (

    select
        cast(product_id as bigint) as product_id,
        cast(category_id as bigint) as category_id

    from source

)

select * from renamed
