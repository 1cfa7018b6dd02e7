-- One row per office of the supplier: the reference list, plus any code the exports use
-- that the list does not know yet (so no fact points at a missing office).
with

offices as (

    select * from {{ ref('offices') }}

),

invoices as (

    select distinct office_code from {{ ref('stg_finance__invoices') }}

),

users as (

    select distinct office_code from {{ ref('stg_crm__users') }}

),

accounts as (

    select distinct office_code from {{ ref('stg_crm__accounts') }}

),

deals as (

    select distinct office_code from {{ ref('stg_crm__deals') }}

),

campaigns as (

    select distinct office_code from {{ ref('stg_crm__campaigns') }}

),

used as (

    select office_code from invoices
    union
    select office_code from users
    union
    select office_code from accounts
    union
    select office_code from deals
    union
    select office_code from campaigns

),

unknown as (

    select
        used.office_code,
        used.office_code as office_name,
        cast(null as {{ dbt.type_string() }}) as city,
        cast(null as {{ dbt.type_string() }}) as federal_district,
        false as is_in_reference_list
    from used
    left join offices
        on used.office_code = offices.office_code
    where used.office_code is not null
        and offices.office_code is null

),

final as (

    select
        office_code,
        office_name,
        city,
        federal_district,
        true as is_in_reference_list
    from offices
    union all
    select * from unknown

)

select * from final
