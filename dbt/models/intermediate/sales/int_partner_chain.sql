-- One row per partner and each partner at or above it in its chain (itself included), with
-- how many levels below that partner it sits: what rolls a reseller's or agent's end users
-- up to its distributor.
with

partners as (

    select * from {{ ref('dim_partners') }}

),

levels as (

    select
        partner_id,
        partner_id as chain_partner_id,
        0 as levels_below
    from partners
    union all
    select
        partner_id,
        parent_partner_id as chain_partner_id,
        1 as levels_below
    from partners
    where parent_partner_id is not null

),

higher as (

    select
        partners.partner_id,
        grandparent.parent_partner_id as great_grandparent_partner_id,
        parent.parent_partner_id as grandparent_partner_id
    from partners
    inner join partners as parent
        on partners.parent_partner_id = parent.partner_id
    left join partners as grandparent
        on parent.parent_partner_id = grandparent.partner_id

),

final as (

    select * from levels
    union all
    select
        partner_id,
        grandparent_partner_id as chain_partner_id,
        2 as levels_below
    from higher
    where grandparent_partner_id is not null
    union all
    select
        partner_id,
        great_grandparent_partner_id as chain_partner_id,
        3 as levels_below
    from higher
    where great_grandparent_partner_id is not null

)

select * from final
