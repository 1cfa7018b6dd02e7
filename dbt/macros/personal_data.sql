{#- Personal data in marts (docs/privacy.md): people are pseudonyms, sole proprietors (ИП: a
    person's name and a 12-digit INN) are the legal form with initials. The full values stay in
    the pii schema. -#}

{#- Pseudonymous key of a person (contact or lead person): an HMAC-SHA256 of '<kind>:<id>' under
    the installation's secret (warehouse/pseudonyms.py), so analysts can count and join people
    without seeing who they are, and nobody can get an id back by hashing guesses; pii.contacts
    maps it back. Stable across rebuilds as long as the secret is kept. -#}
{% macro person_key(kind, id_expr) -%}
    case when {{ id_expr }} is not null then
        {{ keyed_hash("'" ~ kind ~ ":' || " ~ id_expr) }}
    end
{%- endmacro %}

{#- HMAC-SHA256 of a text under the secret whose pads warehouse.pseudonyms writes to
    pii.pseudonym_key before each build (the secret never appears in SQL), as 32 hex characters. -#}
{% macro keyed_hash(text_expr) -%}
    {{ return(adapter.dispatch('keyed_hash', 'crm_warehouse')(text_expr)) }}
{%- endmacro %}

{% macro default__keyed_hash(text_expr) -%}
    left(sha256(
        (select pseudonym_key.outer_pad from pii.pseudonym_key as pseudonym_key)
        || unhex(sha256(
            (select pseudonym_key.inner_pad from pii.pseudonym_key as pseudonym_key) || encode({{ text_expr }})
        ))
    ), 32)
{%- endmacro %}

{#- Whether a legal entity is a sole proprietor (a person): a 12-digit INN, or a name with the form
    ИП / индивидуальный предприниматель / IP / ПБОЮЛ before or after it (as reports/formatting.py). -#}
{% macro is_sole_proprietor(name_expr, inn_expr) -%}
    coalesce(
        length(regexp_replace({{ inn_expr }}, '[^0-9]', '', 'g')) = 12
        or regexp_matches(
            {{ name_expr }},
            '(?i)^\s*(ип|индивидуальный\s+предприниматель|ip|i\.p\.|пбоюл)(\s|$)|[\s,](ип|ip)\s*$'
        ),
        false
    )
{%- endmacro %}

{#- The name a mart shows for a legal entity: a sole proprietor's as 'ИП' and the initials of the
    person's name ('ИП Иванов Иван Иванович' -> 'ИП И.И.И.'), any other name as it is. -#}
{% macro business_name(name_expr, is_person_expr) -%}
    case
        when {{ is_person_expr }} then 'ИП ' || coalesce(
            nullif(
                regexp_replace(
                    trim(regexp_replace(
                        {{ name_expr }},
                        '(?i)^\s*(ип|индивидуальный\s+предприниматель|ip|i\.p\.|пбоюл)(\s+|$)|[\s,]+(ип|ip)\s*$',
                        ''
                    )),
                    '(\S)\S*\s*', '\1.', 'g'
                ),
                ''
            ),
            '…'
        )
        else {{ name_expr }}
    end
{%- endmacro %}

{#- The INN a mart shows: an organisation's; a sole proprietor's (a person's) only in pii. -#}
{% macro business_inn(inn_expr, is_person_expr) -%}
    case when not {{ is_person_expr }} then {{ inn_expr }} end
{%- endmacro %}
