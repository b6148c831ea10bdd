with

source as (

    select * from {{ source('catalog', 'categories') }}

),

renamed as (

    select
        cast(category_id as bigint) as category_id,
        cast(category_name as varchar) as category_name

    from source

)

select * from renamed
