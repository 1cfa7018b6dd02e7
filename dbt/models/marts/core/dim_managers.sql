-- One row per employee in the CRM (managers, support agents, marketers), without their
-- names or e-mails (pii.managers has them).
with

users as (

    select * from {{ ref('stg_crm__users') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

final as (

    select
        users.user_id as manager_id,
        users.role,
        users.role in ('sales_manager', 'account_manager') as is_client_manager,
        users.office_code,
        users.hired_date,
        users.left_date,
        users.left_date is null or users.left_date > as_of.as_of_date as is_employed
    from users
    cross join as_of

)

select * from final
