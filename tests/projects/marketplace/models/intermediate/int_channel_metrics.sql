-- Orders and ad spend per day and channel, stacked: the constant `metric` column tells the
-- two halves of the union apart, so the grain is (metric, metric_date, channel).

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

spend as (

    select * from {{ ref('stg_ads__spend_eur') }}

),

order_counts as (

    select
        'orders' as metric,
        cast(orders.ordered_at as date) as metric_date,
        orders.channel,
        cast(count(*) as decimal(18, 2)) as metric_value

    from orders
    group by 2, 3

),

spend_totals as (

    select
        'spend_eur' as metric,
        spend.spend_date as metric_date,
        spend.channel,
        spend.spend_eur as metric_value

    from spend

),

unioned as (

    select * from order_counts
    union all
    select * from spend_totals

)

select * from unioned
