{#- The dataset of a model is its folder: models/<dataset_id>/<table_id>.sql. Runs in dev write
    to <dataset_id>_dev, so nothing run there touches production tables or the raw
    <dataset_id>_staging tables that models read. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set dataset = custom_schema_name or (node.fqn[1] if node.fqn | length > 2 else target.schema) -%}
    {%- if target.name == 'dev' -%}{{ dataset }}_dev{%- else -%}{{ dataset }}{%- endif -%}
{%- endmacro %}
