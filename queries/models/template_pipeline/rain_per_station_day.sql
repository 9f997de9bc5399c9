-- Daily totals per gauge; `data` is the day (America/Sao_Paulo) the example ETL partitions by.
select
    estacao,
    data as dia,
    sum(chuva_mm) as chuva_mm,
    sum(leituras) as leituras
from {{ source('template_pipeline_staging', 'rain_per_hour') }}
group by estacao, data
