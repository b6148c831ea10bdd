{#-
    load_raw: put the raw files where this target's sources read them. Run it once per
    warehouse before `dbt build`, with the same vars:

        dbt run-operation load_raw --target NAME --vars '{raw_dir: /abs/path, raw_format: csv}'

    The sources name shop.raw_orders, shop.raw_order_items and finance.finance_daily_revenue
    (dbt's default schema for a source is its name); each loader creates exactly the
    relations `source()` resolves to on the target, with the types below.

    duckdb    nothing to do: the sources read the files in place (external_location).
    postgres  CREATE TABLE with the declared types, then COPY ... FROM each CSV file. COPY
              reads on the server: the files must be on the server's machine, readable by
              its user, and the role needs pg_read_server_files (a superuser has it). From
              another machine, create the same tables and load them with psql's \copy.
    spark     an external table over each file (CSV with the declared types, or Parquet),
              read in place as DuckDB reads it: nothing is copied.
    other     a compiler error naming the adapter: load the files with the warehouse's own
              loader (Snowflake's COPY INTO, BigQuery's load jobs, ...) into those relations.
-#}

{% macro raw_tables() %}
    {{ return([
        ('shop', 'raw_orders', [
            ('order_id', 'bigint'), ('customer_id', 'bigint'),
            ('ordered_at', 'timestamp'), ('amount', 'decimal(18,2)')]),
        ('shop', 'raw_order_items', [
            ('order_item_id', 'bigint'), ('order_id', 'bigint'), ('product_id', 'bigint'),
            ('quantity', 'integer'), ('unit_price', 'decimal(18,2)')]),
        ('finance', 'finance_daily_revenue', [
            ('revenue_date', 'date'), ('revenue', 'decimal(18,2)')]),
    ]) }}
{% endmacro %}


{% macro load_raw() %}
    {{ return(adapter.dispatch('load_raw')()) }}
{% endmacro %}


{% macro default__load_raw() %}
    {{ exceptions.raise_compiler_error(
        "load_raw has no loader for the " ~ adapter.type() ~ " adapter: load the raw files "
        ~ "into shop.raw_orders, shop.raw_order_items and finance.finance_daily_revenue "
        ~ "with the warehouse's own loader") }}
{% endmacro %}


{% macro duckdb__load_raw() %}
    {{ log("load_raw: duckdb reads the raw files in place (the sources' external_location): "
           ~ "nothing to load", info=True) }}
{% endmacro %}


{% macro postgres__load_raw() %}
    {% if var('raw_format') != 'csv' %}
        {{ exceptions.raise_compiler_error(
            "load_raw on postgres loads CSV files (COPY); raw_format is " ~ var('raw_format')) }}
    {% endif %}
    {% for source_name, name, columns in raw_tables() %}
        {% set relation = source(source_name, name) %}
        {% set path = var('raw_dir') ~ '/' ~ name ~ '.csv' %}
        {% set names = [] %}
        {% set typed = [] %}
        {% for column, type in columns %}
            {% do names.append(column) %}
            {% do typed.append(column ~ ' ' ~ type) %}
        {% endfor %}
        {% set load %}
            create schema if not exists {{ adapter.quote(relation.schema) }};
            drop table if exists {{ relation }};
            create table {{ relation }} ({{ typed | join(', ') }});
            copy {{ relation }} ({{ names | join(', ') }})
                from '{{ path | replace("'", "''") }}' with (format csv, header true);
            commit;
        {% endset %}
        {% do run_query(load) %}
        {{ log("load_raw: " ~ relation ~ " <- " ~ path, info=True) }}
    {% endfor %}
{% endmacro %}


{% macro spark__load_raw() %}
    {% set fmt = var('raw_format') %}
    {% for source_name, name, columns in raw_tables() %}
        {% set relation = source(source_name, name) %}
        {% set path = var('raw_dir') ~ '/' ~ name ~ '.' ~ fmt %}
        {% set typed = [] %}
        {% for column, type in columns %}
            {% do typed.append(column ~ ' ' ~ type) %}
        {% endfor %}
        {% do run_query('create schema if not exists ' ~ relation.schema) %}
        {% do run_query('drop table if exists ' ~ relation) %}
        {% if fmt == 'parquet' %}
            {% set ddl %}
                create table {{ relation }} using parquet
                options (path '{{ path | replace("'", "\\'") }}')
            {% endset %}
        {% else %}
            {% set ddl %}
                create table {{ relation }} ({{ typed | join(', ') }}) using csv
                options (path '{{ path | replace("'", "\\'") }}', header 'true',
                         mode 'FAILFAST', timestampFormat 'yyyy-MM-dd HH:mm:ss')
            {% endset %}
        {% endif %}
        {% do run_query(ddl) %}
        {{ log("load_raw: " ~ relation ~ " <- " ~ path, info=True) }}
    {% endfor %}
{% endmacro %}
