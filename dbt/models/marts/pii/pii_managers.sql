{{ config(alias='managers') }}

-- RESTRICTED (pii schema): names and work e-mails of the employees in dim_managers.
with

users as (

    select * from {{ ref('stg_crm__users') }}

),

final as (

    select
        user_id as manager_id,
        full_name,
        email
    from users

)

select * from final
