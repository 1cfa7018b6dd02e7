"""Salesforce: the CSV files of the Data Export service (Setup > Data Export), one per object,
with API field names as headers.

Ids: Salesforce writes 18-character ids in Data Export and Data Loader files and 15-character ids
in report exports and URLs. Every id column is stored in the 18-character form (a 15-character id
gets its 3-character case suffix computed), so the same record joins whichever file it came from.

Custom fields: a Russian org keeps tax numbers and our office and product line in custom fields;
we read them under the API names below (`INN__c`, `KPP__c`, `Office__c`, ...). A file without them
loads; the columns stay empty.
"""

from __future__ import annotations

from ingest.dialects.model import Dialect, Field

OPPORTUNITY_STAGES = (
    ("Qualification", "qualification"),
    ("Prospecting", "qualification"),
    ("Needs Analysis", "qualification"),
    ("Proposal/Price Quote", "proposal"),
    ("Value Proposition", "proposal"),
    ("Id. Decision Makers", "proposal"),
    ("Perception Analysis", "proposal"),
    ("Negotiation/Review", "negotiation"),
    ("Closed Won", "won"),
    ("Closed Lost", "lost"),
)
LEAD_STATUSES = (
    ("Open - Not Contacted", "new"),
    ("Working - Contacted", "working"),
    ("Qualified", "qualified"),
    ("Closed - Converted", "converted"),
    ("Closed - Not Converted", "disqualified"),
    ("Unqualified", "disqualified"),
)
LEAD_SOURCES = (
    ("Web", "web_form"),
    ("Advertisement", "ad"),
    ("Trade Show", "event"),
    ("Seminar - Internal", "event"),
    ("Webinar", "webinar"),
    ("Email", "email"),
    ("Employee Referral", "referral"),
    ("External Referral", "referral"),
    ("Word of mouth", "referral"),
    ("Cold Call", "cold_call"),
    ("Purchased List", "cold_call"),
    ("Partner Referral", "partner"),
    ("Partner", "partner"),
    ("Chat", "chat"),
    ("Phone Inquiry", "inbound_call"),
    ("Other", None),
)
ACTIVITY_TYPES = (
    ("Call", "call"),
    ("Email", "email"),
    ("Meeting", "meeting"),
    ("Conference", "event"),
)
TASK_SUBTYPES = (("Call", "call"), ("Email", "email"), ("ListEmail", "email"))
CALL_TYPES = (("Inbound", "inbound"), ("Outbound", "outbound"), ("Internal", None))
CASE_STATUSES = (
    ("New", "open"),
    ("Working", "in_progress"),
    ("Escalated", "in_progress"),
    ("On Hold", "waiting"),
    ("Waiting on Customer", "waiting"),
    ("Resolved", "resolved"),
    ("Closed", "closed"),
)
CASE_PRIORITIES = (("Low", "low"), ("Medium", "normal"), ("High", "high"), ("Critical", "critical"))
CASE_ORIGINS = (("Phone", "phone"), ("Email", "email"), ("Web", "portal"), ("Chat", "chat"))
CAMPAIGN_TYPES = (
    ("Email", "email"),
    ("Direct Mail", "email"),
    ("Advertisement", "ads"),
    ("Banner Ads", "ads"),
    ("Conference", "event"),
    ("Trade Show", "event"),
    ("Webinar", "webinar"),
)
MEMBER_STATUSES = (
    ("Sent", "sent"),
    ("Opened", "opened"),
    ("Clicked", "clicked"),
    ("Registered", "registered"),
    ("Attended", "attended"),
    ("Responded", "responded"),
    ("Held Out", "held_out"),
    ("Control", "held_out"),
)
USER_DEPARTMENTS = (
    ("Sales", "sales_manager"),
    ("Account Management", "account_manager"),
    ("Support", "support_agent"),
    ("Marketing", "marketing"),
)
PRODUCT_LINES = (
    ("Licenses", "licenses"),
    ("Cloud", "cloud"),
    ("Hardware", "hardware"),
    ("Services", "services"),
    ("Support", "support"),
    ("Training", "training"),
)
# Key prefixes (the first 3 characters of an id say which object it is)
KEY_PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "User": "005",
    "Opportunity": "006",
    "OpportunityHistory": "008",
    "Lead": "00Q",
    "Task": "00T",
    "Event": "00U",
    "CampaignMember": "00v",
    "Case": "500",
    "Campaign": "701",
}
TRUE, FALSE = ("true", "1"), ("false", "0")


def _id(column: str, source: str, **kw) -> Field:
    return Field(column, source, id_form="salesforce", **kw)


def _name(column: str) -> tuple[Field, Field]:
    return (
        Field(column, "Name"),
        Field(
            column, ("LastName", "FirstName"), note="when Name is empty, surname first as in a Russian locale"
        ),
    )


SALESFORCE = Dialect(
    name="salesforce",
    description=(
        "Salesforce Data Export: one UTF-8 CSV per object (Account.csv, Opportunity.csv, ...), API field "
        "names as headers, ISO 8601 timestamps in UTC ('2024-03-01T10:15:00.000Z'), 15- or 18-character ids."
    ),
    delimiter=",",
    date_formats=("%Y-%m-%d",),
    timestamp_formats=(
        "%Y-%m-%dT%H:%M:%S.%f%z",
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%dT%H:%M:%S.%f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d",
    ),
    decimal_comma=False,
    true_values=TRUE,
    false_values=FALSE,
    formats=("csv", "xlsx"),
    file_names={
        "user": "users",
        "account": "accounts",
        "contact": "contacts",
        "lead": "leads",
        "opportunity": "deals",
        "opportunityhistory": "deal_stage_changes",
        "task": "activities",
        "event": "activities",
        "case": "tickets",
        "campaign": "campaigns",
        "campaignmember": "campaign_members",
    },
    fields={
        "users": (
            _id("user_id", "Id"),
            *_name("full_name"),
            Field("email", "Email"),
            Field("office_code", "Division", note="the office code (MSK, SPB, ...) kept in Division"),
            Field("role", "Department", values=USER_DEPARTMENTS),
            Field(
                "hired_date",
                "CreatedDate",
                date_of_timestamp=True,
                note="approximation: the day the user record was created",
            ),
            Field(
                "left_date",
                "LastModifiedDate",
                date_of_timestamp=True,
                when=("IsActive", FALSE),
                note="approximation: the last change of a deactivated user",
            ),
        ),
        "accounts": (
            _id("account_id", "Id"),
            Field("name", "Name"),
            Field("inn", "INN__c", note="custom field"),
            Field("kpp", "KPP__c", note="custom field"),
            _id("parent_account_id", "ParentId"),
            Field("region", "BillingState"),
            Field("website", "Website"),
            Field("phone", "Phone"),
            Field("industry", "Industry"),
            _id("owner_user_id", "OwnerId"),
            Field("office_code", "Office__c", note="custom field"),
            Field("created_at", "CreatedDate"),
        ),
        "contacts": (
            _id("contact_id", "Id"),
            _id("account_id", "AccountId"),
            *_name("full_name"),
            Field("email", "Email"),
            Field("phone", "Phone"),
            Field("phone", "MobilePhone", note="when Phone is empty"),
            Field("job_title", "Title"),
            Field("is_active", "Active__c", note="custom field"),
            Field("created_at", "CreatedDate"),
        ),
        "leads": (
            _id("lead_id", "Id"),
            Field("created_at", "CreatedDate"),
            Field("source_channel", "LeadSource", values=LEAD_SOURCES),
            Field("company_name", "Company"),
            Field("inn", "INN__c", note="custom field"),
            *_name("contact_name"),
            Field("email", "Email"),
            Field("phone", "Phone"),
            Field("phone", "MobilePhone", note="when Phone is empty"),
            Field("region", "State"),
            Field("web_visitor_id", "Web_Visitor_Id__c", note="custom field: the web form's visitor id"),
            Field("status", "Status", values=LEAD_STATUSES),
            _id("converted_account_id", "ConvertedAccountId"),
            _id("converted_deal_id", "ConvertedOpportunityId"),
            Field("converted_at", "ConvertedDate", note="a date: conversions are stored at midnight UTC"),
            _id("owner_user_id", "OwnerId"),
        ),
        "deals": (
            _id("deal_id", "Id"),
            _id("account_id", "AccountId"),
            Field("created_at", "CreatedDate"),
            Field("stage", "StageName", values=OPPORTUNITY_STAGES),
            Field("amount", "Amount"),
            Field("currency", "CurrencyIsoCode"),
            Field("product_line", "Product_Line__c", values=PRODUCT_LINES, note="custom field"),
            Field("expected_close_date", "CloseDate", when=("IsClosed", FALSE)),
            Field(
                "closed_at",
                "CloseDate",
                when=("IsClosed", TRUE),
                note="a date: closes are stored at midnight UTC",
            ),
            Field("lost_reason", "Loss_Reason__c", note="custom field"),
            _id("owner_user_id", "OwnerId"),
            _id("partner_id", "PartnerAccountId"),
            _id("campaign_id", "CampaignId"),
            Field("office_code", "Office__c", note="custom field"),
        ),
        "deal_stage_changes": (
            _id("deal_id", "OpportunityId"),
            Field("stage", "StageName", values=OPPORTUNITY_STAGES),
            Field("changed_at", "CreatedDate"),
            Field("amount", "Amount"),
        ),
        "activities": (
            _id("activity_id", "Id"),
            Field("activity_type", "Type", values=ACTIVITY_TYPES),
            Field("activity_type", "TaskSubtype", values=TASK_SUBTYPES, note="when Type is empty"),
            Field("direction", "CallType", values=CALL_TYPES, note="calls only"),
            Field("occurred_at", "CompletedDateTime", note="Task"),
            Field("occurred_at", "ActivityDateTime", note="Event"),
            Field("occurred_at", "ActivityDate", note="when neither is set: the date, at midnight"),
            _id("account_id", "AccountId"),
            _id("contact_id", "WhoId", prefixes=(KEY_PREFIXES["Contact"],), note="WhoId of a contact"),
            _id("lead_id", "WhoId", prefixes=(KEY_PREFIXES["Lead"],), note="WhoId of a lead"),
            _id(
                "deal_id", "WhatId", prefixes=(KEY_PREFIXES["Opportunity"],), note="WhatId of an opportunity"
            ),
            _id("owner_user_id", "OwnerId"),
            Field("duration_seconds", "CallDurationInSeconds", note="Task"),
            Field("duration_seconds", "DurationInMinutes", scale=60, note="Event, minutes x 60"),
            Field("outcome", "CallDisposition", note="Task"),
        ),
        "tickets": (
            _id("ticket_id", "Id"),
            _id("account_id", "AccountId"),
            _id("contact_id", "ContactId"),
            Field("opened_at", "CreatedDate"),
            Field("priority", "Priority", values=CASE_PRIORITIES),
            Field("status", "Status", values=CASE_STATUSES),
            Field("resolved_at", "ClosedDate"),
            Field("category", "Type"),
            Field("channel", "Origin", values=CASE_ORIGINS),
            _id("owner_user_id", "OwnerId"),
            _id("partner_id", "Partner_Account__c", note="custom field: the partner that raised the case"),
        ),
        "campaigns": (
            _id("campaign_id", "Id"),
            Field("name", "Name"),
            Field("campaign_type", "Type", values=CAMPAIGN_TYPES),
            Field("start_date", "StartDate"),
            Field("end_date", "EndDate"),
            Field("cost", "ActualCost"),
            Field("currency", "CurrencyIsoCode"),
            Field("utm_campaign", "UTM_Campaign__c", note="custom field"),
            Field("office_code", "Office__c", note="custom field"),
            Field("product_line", "Product_Line__c", values=PRODUCT_LINES, note="custom field"),
        ),
        "campaign_members": (
            _id("campaign_member_id", "Id"),
            _id("campaign_id", "CampaignId"),
            _id("contact_id", "ContactId"),
            _id("lead_id", "LeadId"),
            _id("account_id", "AccountId", note="with the 'Accounts as Campaign Members' setting"),
            Field("touched_at", "CreatedDate"),
            Field("response", "Status", values=MEMBER_STATUSES),
        ),
    },
)
