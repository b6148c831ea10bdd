-- Products with their category's name. The bug planted here: a product can be in several
-- categories, so the join through the product_categories bridge repeats the product.

with

products as (

    select * from {{ ref('stg_catalog__products') }}

),

product_categories as (

    select * from {{ ref('stg_catalog__product_categories') }}

),

categories as (

    select * from {{ ref('stg_catalog__categories') }}

),

final as (

    select
        products.product_id,
        products.product_name,
        products.brand_name,
        categories.category_name

    from products
    left join product_categories
        on products.product_id = product_categories.product_id
    left join categories
        on product_categories.category_id = categories.category_id

)

select * from final
