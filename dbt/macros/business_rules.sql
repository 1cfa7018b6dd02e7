{#- One numeric setting of the seed business_rules, inside an aggregate over its rows
    (int_business_rules pivots them into one typed row). -#}
{% macro business_rule_number(rule_name, type='integer') -%}
    max(case when rule_name = '{{ rule_name }}' then cast(value as {{ type }}) end)
{%- endmacro %}

{#- The one rule that blocks sales offers (seed business_rules), as the reason a client is
    blocked, or null when it is not: an open ticket of a blocking priority, or money overdue
    at least offer_block_min_days_past_due days (written-off money excluded) adding up to
    offer_block_min_overdue_rub. The arguments are SQL expressions: the client's open tickets
    of a blocking priority, its overdue money that counts, and the int_business_rules row.
    models/rules.py applies the same rule in Python to the same inputs. -#}
{% macro offer_block_reason(blocking_tickets, blocking_overdue_rub, rules='business_rules') -%}
    case
        when {{ blocking_tickets }} > 0
            and {{ blocking_overdue_rub }} >= {{ rules }}.offer_block_min_overdue_rub
            then 'open_urgent_ticket_and_overdue_payment'
        when {{ blocking_tickets }} > 0 then 'open_urgent_ticket'
        when {{ blocking_overdue_rub }} >= {{ rules }}.offer_block_min_overdue_rub then 'overdue_payment'
    end
{%- endmacro %}

{#- Whether a ticket priority blocks offers (the space-separated list offer_block_ticket_priorities). -#}
{% macro is_blocking_priority(priority_expr, rules='business_rules') -%}
    (' ' || {{ rules }}.offer_block_ticket_priorities || ' ' like '% ' || {{ priority_expr }} || ' %')
{%- endmacro %}

{#- Net revenue of an invoice in roubles: the amount before VAT less the pre-VAT part of the
    credit notes against it (credit notes are exported with VAT). One definition for
    fct_invoices and the as-of ageing (int_invoices__aged), so every 12-month revenue agrees. -#}
{% macro net_revenue_rub(amount, amount_with_vat, credited_amount, rub_per_unit) -%}
    cast(
        case
            when {{ amount_with_vat }} = 0 then 0
            else ({{ amount_with_vat }} - {{ credited_amount }}) * {{ amount }} / {{ amount_with_vat }} * {{ rub_per_unit }}
        end as decimal(18, 2)
    )
{%- endmacro %}
