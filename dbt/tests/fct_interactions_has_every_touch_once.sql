-- The incremental fct_interactions holds exactly the touches of its source view: none
-- missing, none left over from superseded files (counts per channel must agree).
with

source_counts as (

    select
        channel,
        count(*) as touches
    from {{ ref('int_interactions__unioned') }}
    group by channel

),

fact_counts as (

    select
        channel,
        count(*) as touches
    from {{ ref('fct_interactions') }}
    group by channel

)

select
    coalesce(source_counts.channel, fact_counts.channel) as channel,
    source_counts.touches as source_touches,
    fact_counts.touches as fact_touches
from source_counts
full outer join fact_counts
    on source_counts.channel = fact_counts.channel
where {{ is_distinct_from('source_counts.touches', 'fact_counts.touches') }}
