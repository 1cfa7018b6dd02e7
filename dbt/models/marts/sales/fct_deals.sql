-- One row per deal (opportunity) with its client, stages reached and cycle times.
select * from {{ ref('int_deals__staged') }}
