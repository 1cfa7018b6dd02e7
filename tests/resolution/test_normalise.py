"""Normalising organisation names, tax numbers, phones, domains and regions for record linkage."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from resolution.normalise import (
    RECORD_COLUMNS,
    corporate_domain,
    email_domain,
    fold_script,
    inn_kind,
    is_branch_kpp,
    name_stem,
    normalise_inn,
    normalise_kpp,
    normalise_name,
    normalise_phone,
    normalise_records,
    normalise_region,
    phone_region,
    split_legal_form,
    website_domain,
)


@pytest.mark.parametrize(
    "written",
    [
        'ООО "Техносервис"',
        "ООО «Техносервис»",
        "Техносервис, ООО",
        "«Техносервис» ООО",
        "Общество с ограниченной ответственностью «Техносервис»",
        'ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ "ТЕХНОСЕРВИС"',
        "ооо техносервис",
        "Tekhnoservis LLC",
        "OOO 'Tekhnoservis'",
        "Техно-Сервис",
        "техносервис",
    ],
)
def test_every_way_of_writing_a_company_gives_one_normalised_name(written):
    assert normalise_name(written) == "техносервис"


@pytest.mark.parametrize(
    ("written", "form"),
    [
        ('ООО "Альфа"', "ООО"),
        ("Alfa LLC", "ООО"),
        ("Alfa Ltd", "ООО"),
        ("АО «Альфа»", "АО"),
        ("JSC Alfa", "АО"),
        ("ПАО Альфа", "ПАО"),
        ("Alfa PJSC", "ПАО"),
        ("ЗАО Альфа", "ЗАО"),
        ("CJSC Alfa", "ЗАО"),
        ("Индивидуальный предприниматель Иванов Иван Иванович", "ИП"),
        ("IP Ivanov Ivan", "ИП"),
        ("Альфа", None),
    ],
)
def test_legal_forms_in_either_script_map_to_the_russian_abbreviation(written, form):
    assert split_legal_form(written)[1] == form


def test_a_name_that_is_only_a_form_like_word_keeps_that_word():
    assert split_legal_form('АО "АО"') == ("ао", "АО")


@pytest.mark.parametrize(
    ("latin", "cyrillic"),
    [
        ("NordLogic", "Нордлоджик"),
        ("SkyCore Trade", "Скайкор Трейд"),
        ("CloudVision", "Клаудвижн"),
        ("TechGroup", "Техгрупп"),
        ("Stroyinvest Sibir", "Стройинвест Сибирь"),
        ("Gazoservis Tsentr", "Газосервис Центр"),
        ("Yugsnab", "Югснаб"),
        ("Fedorov", "Фёдоров"),
        ("Zernolayn", "Зернолайн"),
        ("Shchit", "Щит"),
        ("Baltstroy", "Балтстрой"),
        ("Tsentr", "Центр"),
    ],
)
def test_latin_and_cyrillic_spellings_fold_to_one_script(latin, cyrillic):
    assert fold_script(latin) == fold_script(cyrillic)


@given(st.text(max_size=60))
def test_normalising_any_text_never_fails_and_is_idempotent(text):
    once = normalise_name(text)
    if once is not None:
        assert normalise_name(once) == once or normalise_name(once) is None


def test_an_individual_entrepreneur_has_no_stem():
    assert name_stem("иванов иван иванович", "ИП") is None
    assert name_stem("техносервис плюс", "ООО") == "техносервис"


def test_a_valid_organisation_inn_passes_and_a_wrong_check_digit_fails():
    assert normalise_inn("7707083893") == "7707083893"
    assert normalise_inn(" 7707083893 ") == "7707083893"
    assert normalise_inn("7707083894") is None
    assert normalise_inn("77070838") is None
    assert normalise_inn(None) is None


def test_a_twelve_digit_inn_is_an_individual():
    assert normalise_inn("500100732259") == "500100732259"
    assert inn_kind("500100732259") == "individual"
    assert inn_kind("7707083893") == "organisation"


def test_kpp_reason_43_is_a_branch():
    assert normalise_kpp("7701 43 001") == "770143001"
    assert is_branch_kpp("770143001")
    assert not is_branch_kpp("770101001")
    assert normalise_kpp("12345") is None


@pytest.mark.parametrize(
    "written",
    ["+7 (495) 123-45-67", "8 (495) 123-45-67", "84951234567", "+7 495 123 45 67", "8-495-123-45-67",
     "74951234567", "(495) 123-4567", "+74951234567"],
)  # fmt: skip
def test_phone_formats_give_the_e164_number_ingest_loads(written):
    from ingest.parsing import parse_phone

    assert normalise_phone(written) == "+74951234567" == parse_phone(written)


@pytest.mark.parametrize("written", ["нет", "12345", "", None, "+7 (495) 123-45-67 доб. 123"])
def test_text_that_is_not_a_phone_gives_none(written):
    assert normalise_phone(written) is None


def test_a_website_host_must_end_in_a_public_suffix():
    assert website_domain("http://shop.example.co.uk:8080/a?b") == "shop.example.co.uk"
    assert website_domain("https://www.пример.рф/") == "пример.рф"
    assert website_domain("localhost") is None
    assert website_domain("http://192.168.0.1/") is None
    assert website_domain("nord group.ru") is None


def test_domains_of_websites_and_addresses():
    assert website_domain("https://www.Tekhnoservis.ru/contacts") == "tekhnoservis.ru"
    assert website_domain("www.nord-group.ru") == "nord-group.ru"
    assert email_domain("I.Ivanov@Tekhnoservis.RU") == "tekhnoservis.ru"
    assert email_domain("ivanov@@tekhnoservis.ru") is None
    assert email_domain("ivanov@tekhnoservis") is None


@pytest.mark.parametrize("free", ["gmail.com", "mail.ru", "yandex.ru", "bk.ru", "list.ru", "inbox.ru",
                                  "rambler.ru", "outlook.com", "hotmail.com", "ya.ru"])  # fmt: skip
def test_free_mailboxes_are_not_corporate_domains(free):
    assert corporate_domain(free) is None


def test_excluded_domains_are_not_corporate_domains():
    assert corporate_domain("sfera-it.ru", frozenset({"sfera-it.ru"})) is None
    assert corporate_domain("tekhnoservis.ru") == "tekhnoservis.ru"


@pytest.mark.parametrize(
    ("written", "region"),
    [
        ("г. Москва", "Москва"),
        ("Moscow", "Москва"),
        ("МОСКВА", "Москва"),
        ("СПб", "Санкт-Петербург"),
        ("St. Petersburg", "Санкт-Петербург"),
        ("Татарстан", "Республика Татарстан"),
        ("РТ", "Республика Татарстан"),
        ("Свердловская обл.", "Свердловская область"),
        ("Екатеринбург", "Свердловская область"),
        ("Новосибирск", "Новосибирская область"),
        ("Хабаровский край", "Хабаровский край"),
    ],
)
def test_region_variants_map_to_the_official_name(written, region):
    assert normalise_region(written) == region


def _record(**values) -> dict:
    row = dict.fromkeys(RECORD_COLUMNS)
    row.update(values)
    return row


def test_normalise_records_adds_comparable_columns():
    records = pd.DataFrame(
        [
            _record(
                record_key="accounts:A1",
                name="Tekhnoservis LLC",
                inn="7707083893",
                kpp="770143001",
                website="https://www.tekhnoservis.ru",
                email=None,
                phone="8 (495) 123-45-67",
                region="Moscow",
            ),
            _record(
                record_key="leads:L1",
                name="ип иванов",
                inn="500100732259",
                kpp="770101001",
                email="ivanov@gmail.com",
            ),  # fmt: skip
        ]
    )
    out = normalise_records(records).set_index("record_key")
    a1 = out.loc["accounts:A1"]
    assert (a1.name_norm, a1.legal_form, a1.name_stem) == ("техносервис", "ООО", "техносервис")
    assert (a1.inn_norm, a1.inn_kind, a1.kpp_norm) == ("7707083893", "organisation", "770143001")
    assert (a1.domain, a1.phone_norm, a1.region_norm) == ("tekhnoservis.ru", "+74951234567", "Москва")
    assert a1.region_key == "Москва"
    l1 = out.loc["leads:L1"]
    # an individual has no KPP and no stem; a free mailbox gives no domain
    assert l1.legal_form == "ИП"
    assert pd.isna(l1.kpp_norm) and pd.isna(l1.name_stem) and pd.isna(l1.domain)


def test_a_landline_says_where_a_record_without_a_region_is():
    assert phone_region("+78612516532") == "Краснодарский край"
    assert phone_region("+74951234567") == "Москва"
    assert phone_region("+79161234567") is None  # a mobile is anywhere
    assert phone_region("+78001234567") is None  # toll-free
    assert phone_region("+442079460958") is None  # another country
    records = pd.DataFrame(
        [
            _record(record_key="leads:L1", name="Газоальянс", phone="+7 (861) 251-65-32"),
            _record(record_key="leads:L2", name="Газоальянс", phone="8 861 251 65 32", region="Москва"),
            _record(record_key="leads:L3", name="Газоальянс", phone="+7 916 123-45-67"),
        ]
    )
    out = normalise_records(records).set_index("record_key")
    assert pd.isna(out.loc["leads:L1", "region_norm"])
    assert out.loc["leads:L1", "region_key"] == "Краснодарский край"
    assert out.loc["leads:L2", "region_key"] == "Москва"  # the stated region wins
    assert pd.isna(out.loc["leads:L3", "region_key"])


def test_normalise_records_names_the_missing_columns():
    with pytest.raises(KeyError, match="record_key"):
        normalise_records(pd.DataFrame({"name": ["x"]}))
