{#- The first-touch origin a lead's source channel stands for (mart_lead_origin): cold_call,
    inbound_call, web_form, ad_click, chat, event (events and webinars), partner_referral,
    client_referral, email_campaign; unknown when the CRM recorded no channel. -#}
{% macro lead_channel_origin(channel_expr) -%}
    case {{ channel_expr }}
        when 'cold_call' then 'cold_call'
        when 'inbound_call' then 'inbound_call'
        when 'web_form' then 'web_form'
        when 'ad' then 'ad_click'
        when 'chat' then 'chat'
        when 'event' then 'event'
        when 'webinar' then 'event'
        when 'partner' then 'partner_referral'
        when 'referral' then 'client_referral'
        when 'email' then 'email_campaign'
        else 'unknown'
    end
{%- endmacro %}
