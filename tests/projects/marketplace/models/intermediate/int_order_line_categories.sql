-- Each order line once per category of its product, through the bridge: a change of grain
-- on purpose, declared in the YAML, so a fan-out that is not a finding.

with

order_lines as (

    select * from {{ ref('int_order_lines') }}

),

product_categories as (

    select * from {{ ref('stg_catalog__product_categories') }}

),

joined as (

    select
        order_lines.order_id,
        order_lines.line_number,
        product_categories.category_id,
        order_lines.product_id,
        order_lines.channel,
        order_lines.order_date,
        order_lines.line_total

    from order_lines
    inner join product_categories
        on order_lines.product_id = product_categories.product_id

)

select * from joined
