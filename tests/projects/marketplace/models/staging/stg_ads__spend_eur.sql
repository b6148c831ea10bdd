-- Reads another staging model and states no grain: two lint findings. Its grain is still
-- inferred: one row per (spend_date, channel), carried through from stg_ads__spend.

with

spend as (

    select * from {{ ref('stg_ads__spend') }}

),

converted as (

    select
        spend.spend_date,
        spend.channel,
        cast(spend.spend_usd * 0.92 as decimal(18, 2)) as spend_eur

    from spend

)

select * from converted
