-- Reads two source tables (products and brands): a layering slip the lint flags. The join
-- itself is many-to-one (one brand per product), so the grain stays one row per product.

with

source as (

    select * from {{ source('catalog', 'products') }}

),

brands as (

    select * from {{ source('catalog', 'brands') }}

),

renamed as (

    select
        ---------- ids
        cast(source.product_id as bigint) as product_id,
        cast(source.brand_id as bigint) as brand_id,

        ---------- strings
        cast(source.product_name as varchar) as product_name,
        cast(brands.brand_name as varchar) as brand_name

    from source
    left join brands
        on source.brand_id = brands.brand_id

)

select * from renamed
