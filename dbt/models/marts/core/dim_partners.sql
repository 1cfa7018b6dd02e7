-- One row per partner: its tier (distributor, reseller, agent), commission and the chain
-- above it (parent, the partner at the top, the path from the top down). Chains are
-- followed four levels up, with self joins rather than a recursive query so that the SQL
-- stays portable; a deeper chain is cut at four and says so (is_chain_cut).
with

partners as (

    select * from {{ ref('stg_crm__partners') }}

),

chained as (

    select
        partners.partner_id,
        -- a sole proprietor's name and INN are a person's: initials here, the rest in pii
        {{ business_name('partners.name', is_sole_proprietor('partners.name', 'partners.inn')) }}
            as partner_name,
        partners.partner_type as partner_tier,
        {{ business_inn('partners.inn', is_sole_proprietor('partners.name', 'partners.inn')) }} as inn,
        partners.region,
        partners.commission_percent,
        partners.parent_partner_id,
        parent.parent_partner_id as grandparent_partner_id,
        grandparent.parent_partner_id as great_grandparent_partner_id,
        great_grandparent.parent_partner_id as beyond_partner_id
    from partners
    left join partners as parent
        on partners.parent_partner_id = parent.partner_id
    left join partners as grandparent
        on parent.parent_partner_id = grandparent.partner_id
    left join partners as great_grandparent
        on grandparent.parent_partner_id = great_grandparent.partner_id

),

final as (

    select
        partner_id,
        partner_name,
        partner_tier,
        partner_tier as partner_type,
        inn,
        region,
        commission_percent,
        parent_partner_id,
        coalesce(great_grandparent_partner_id, grandparent_partner_id, parent_partner_id, partner_id)
            as top_partner_id,
        case
            when great_grandparent_partner_id is not null then 3
            when grandparent_partner_id is not null then 2
            when parent_partner_id is not null then 1
            else 0
        end as chain_depth,
        {{ dbt.concat([
            "coalesce(great_grandparent_partner_id || ' > ', '')",
            "coalesce(grandparent_partner_id || ' > ', '')",
            "coalesce(parent_partner_id || ' > ', '')",
            "partner_id",
        ]) }} as partner_chain,
        beyond_partner_id is not null as is_chain_cut
    from chained

)

select * from final
