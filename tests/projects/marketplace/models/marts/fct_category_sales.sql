-- Revenue per day and category. Lines repeat once per category of their product upstream,
-- but each (day, category) group holds a line at most once: the sum is right.

with

line_categories as (

    select * from {{ ref('int_order_line_categories') }}

),

categories as (

    select * from {{ ref('stg_catalog__categories') }}

),

final as (

    select
        line_categories.order_date,
        line_categories.category_id,
        categories.category_name,
        count(*) as line_count,
        sum(line_categories.line_total) as revenue

    from line_categories
    inner join categories
        on line_categories.category_id = categories.category_id
    group by 1, 2, 3

)

select * from final
