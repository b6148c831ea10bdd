{#-
    The same contract as dbt_utils.unique_combination_of_columns (no package needed
    offline): the combination of columns is unique. Returns the repeated combinations.
-#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

select
    {{ combination_of_columns | join(', ') }},
    count(*) as n_rows

from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
