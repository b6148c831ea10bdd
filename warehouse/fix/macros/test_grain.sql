{#-
    grain: the model has exactly one row per value of `columns` (one column or several).
    Fails with one row per key that is null or appears more than once, and how many rows
    it has. Plain SQL (group by, having), so it runs on any adapter.

        data_tests:
          - grain:
              arguments:
                columns: [order_id]
-#}
{% test grain(model, columns) %}

{%- set key = columns | join(', ') %}

select
    {{ key }},
    count(*) as n_rows

from {{ model }}
group by {{ key }}
having count(*) > 1
    {%- for column in columns %}
    or {{ column }} is null
    {%- endfor %}

{% endtest %}
