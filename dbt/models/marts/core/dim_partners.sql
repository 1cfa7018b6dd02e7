-- One row per reseller or distributor.
with

partners as (

    select * from {{ ref('stg_crm__partners') }}

),

final as (

    select
        partner_id,
        -- a sole proprietor's name and INN are a person's: initials here, the rest in pii
        {{ business_name('name', is_sole_proprietor('name', 'inn')) }} as partner_name,
        partner_type,
        {{ business_inn('inn', is_sole_proprietor('name', 'inn')) }} as inn,
        region
    from partners

)

select * from final
