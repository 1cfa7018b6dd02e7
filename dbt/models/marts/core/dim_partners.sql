-- One row per reseller or distributor.
with

partners as (

    select * from {{ ref('stg_crm__partners') }}

),

final as (

    select
        partner_id,
        name as partner_name,
        partner_type,
        inn,
        region
    from partners

)

select * from final
