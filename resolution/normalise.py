"""Normalising what people write about an organisation, so that records can be compared.

Every function here takes one value and returns its comparable form (or None when nothing usable is
left). They are pure and cheap; `normalise_records` applies them to a DataFrame of entity records.

Names are folded to one script: Latin text is read back into Cyrillic (English loanwords first, then
the usual transliteration in reverse), and the Cyrillic result is folded once more (ё, э, й, ы, soft
and hard signs, doubled letters) so that "NordLogic", "Нордлоджик" and "НОРДЛОДЖИК" meet.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import pandas as pd

from warehouse import identifiers

# ---------------------------------------------------------------------------- legal forms
# abbreviation (lower case, as it appears once quotes and punctuation are gone) -> canonical form
LEGAL_FORM_ABBREVIATIONS: dict[str, str] = {
    "ооо": "ООО",
    "ooo": "ООО",
    "000": "ООО",
    "llc": "ООО",
    "ltd": "ООО",
    "оао": "АО",
    "ао": "АО",
    "ao": "АО",
    "oao": "АО",
    "jsc": "АО",
    "нао": "АО",
    "пао": "ПАО",
    "pao": "ПАО",
    "pjsc": "ПАО",
    "зао": "ЗАО",
    "zao": "ЗАО",
    "cjsc": "ЗАО",
    "ип": "ИП",
    "ip": "ИП",
    "пбоюл": "ИП",
    "гуп": "ГУП",
    "муп": "МУП",
    "фгуп": "ГУП",
    "ано": "АНО",
    "нко": "НКО",
    "inc": "INC",
    "corp": "INC",
    "gmbh": "GMBH",
}
# full forms, matched on the lower-cased text; the longest first
LEGAL_FORM_PHRASES: tuple[tuple[str, str], ...] = (
    ("публичное акционерное общество", "ПАО"),
    ("непубличное акционерное общество", "АО"),
    ("открытое акционерное общество", "АО"),
    ("закрытое акционерное общество", "ЗАО"),
    ("акционерное общество", "АО"),
    ("общество с ограниченной ответственностью", "ООО"),
    ("индивидуальный предприниматель", "ИП"),
    ("государственное унитарное предприятие", "ГУП"),
    ("муниципальное унитарное предприятие", "МУП"),
    ("limited liability company", "ООО"),
    ("joint stock company", "АО"),
    ("public joint stock company", "ПАО"),
)
INDIVIDUAL_FORM = "ИП"

# ---------------------------------------------------------------------------- script folding
# English words Russian company names borrow, with the Cyrillic spelling they take
# ("Smart" and "Смарт" already meet by transliteration and need no entry).
LOANWORDS: dict[str, str] = {
    "cloud": "клауд",
    "logic": "лоджик",
    "vision": "вижн",
    "sky": "скай",
    "core": "кор",
    "prime": "прайм",
    "trade": "трейд",
    "group": "групп",
    "tech": "тех",
    "line": "лайн",
    "point": "поинт",
    "soft": "софт",
    "service": "сервис",
    "system": "систем",
    "consulting": "консалтинг",
    "development": "девелопмент",
    "engineering": "инжиниринг",
    "logistics": "логистикс",
    "capital": "капитал",
    "center": "центр",
    "centre": "центр",
    "house": "хаус",
    "light": "лайт",
    "tower": "тауэр",
    "bridge": "бридж",
    "invest": "инвест",
    "holding": "холдинг",
    "market": "маркет",
    "media": "медиа",
    "energy": "энерджи",
    "plus": "плюс",
    "ural": "урал",
}
_LOANWORD_RE = re.compile("|".join(sorted(LOANWORDS, key=len, reverse=True)))
# Latin -> Cyrillic, longest spellings first: the common Russian transliteration read backwards,
# plus the letters only English has.
_REVERSE_TRANSLIT: tuple[tuple[str, str], ...] = (
    ("shch", "щ"),
    ("sch", "сч"),
    ("zh", "ж"),
    ("kh", "х"),
    ("ts", "ц"),
    ("tz", "ц"),
    ("ch", "ч"),
    ("sh", "ш"),
    ("yu", "ю"),
    ("ya", "я"),
    ("yo", "ё"),
    ("ye", "е"),
    ("ph", "ф"),
    ("qu", "кв"),
    ("a", "а"),
    ("b", "б"),
    ("c", "к"),
    ("d", "д"),
    ("e", "е"),
    ("f", "ф"),
    ("g", "г"),
    ("h", "х"),
    ("i", "и"),
    ("j", "дж"),
    ("k", "к"),
    ("l", "л"),
    ("m", "м"),
    ("n", "н"),
    ("o", "о"),
    ("p", "п"),
    ("q", "к"),
    ("r", "р"),
    ("s", "с"),
    ("t", "т"),
    ("u", "у"),
    ("v", "в"),
    ("w", "в"),
    ("x", "кс"),
    ("y", "й"),
    ("z", "з"),
)
_REVERSE_RE = re.compile("|".join(re.escape(k) for k, _ in _REVERSE_TRANSLIT))
_REVERSE_MAP = dict(_REVERSE_TRANSLIT)
# the last fold, applied to Cyrillic: letters that transliteration confuses become one, and the letters
# written with two Latin ones are spelt out ("Baltstroy" reads back as "балцтрои" but is "балтстрой")
_CYRILLIC_FOLD = str.maketrans(
    {"ё": "е", "э": "е", "й": "и", "ы": "и", "ь": None, "ъ": None, "ц": "тс", "щ": "шч"}
)
_DOUBLED = re.compile(r"(\w)\1+")
_LATIN_WORD = re.compile(r"[a-z]+")
_QUOTES_AND_PUNCT = re.compile(r"[^\w\s-]|_")
_SPACES = re.compile(r"\s+")


def _latin_word_to_cyrillic(word: str) -> str:
    word = _LOANWORD_RE.sub(lambda m: LOANWORDS[m.group(0)], word)
    return _REVERSE_RE.sub(lambda m: _REVERSE_MAP[m.group(0)], word)


def fold_script(text: str) -> str:
    """Lower-case `text` in one script (Cyrillic), with the letters transliteration confuses folded.

    >>> fold_script("NordLogic") == fold_script("Нордлоджик")
    True
    """
    text = text.lower()
    text = _LATIN_WORD.sub(lambda m: _latin_word_to_cyrillic(m.group(0)), text)
    text = text.translate(_CYRILLIC_FOLD)
    return _DOUBLED.sub(r"\1", text)


# ---------------------------------------------------------------------------- names
def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("-", "")  # "Техно-Сервис" is "Техносервис"
    text = _QUOTES_AND_PUNCT.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def split_legal_form(name: str | None) -> tuple[str, str | None]:
    """(`name` without its legal form, lower-cased and without punctuation; the canonical form or None).

    The form may stand before or after the name, after a comma, or be written out in full, in
    Cyrillic or Latin letters: 'ООО "Техносервис"', 'Tekhnoservis LLC', 'Общество с ограниченной
    ответственностью «Техносервис»' all give ('техносервис', 'ООО').
    """
    if name is None or (isinstance(name, float) and pd.isna(name)):
        return "", None
    text = _clean(str(name))
    form = None
    for phrase, canonical in LEGAL_FORM_PHRASES:
        if phrase in text:
            text = _SPACES.sub(" ", text.replace(phrase, " ")).strip()
            form = form or canonical
    tokens = text.split(" ") if text else []
    kept = []
    for i, token in enumerate(tokens):
        canonical = LEGAL_FORM_ABBREVIATIONS.get(token)
        # a form only at either end of the name, and never the name's only word
        at_edge = i == 0 or i == len(tokens) - 1
        if canonical and at_edge and len(tokens) > 1:
            form = form or canonical
            continue
        kept.append(token)
    if not kept and tokens:  # 'АО "АО"': the name is a form-like word
        kept = tokens[-1:]
    return " ".join(kept), form


def normalise_name(name: str | None) -> str | None:
    """The comparable form of an organisation's name: no legal form, quotes, punctuation or case,
    one script. None when nothing is left."""
    text, _ = split_legal_form(name)
    folded = fold_script(text).strip()
    return folded or None


def name_stem(normalised: str | None, legal_form: str | None = None) -> str | None:
    """The first word of a normalised name: what a holding's companies share ('техносервис' of
    'техносервис плюс'). None for an individual entrepreneur, whose first word is a surname."""
    if not normalised or legal_form == INDIVIDUAL_FORM:
        return None
    stem = normalised.split(" ", 1)[0]
    return stem if len(stem) >= 3 else None


# ---------------------------------------------------------------------------- tax numbers
def normalise_inn(value: str | None) -> str | None:
    """The INN when it is 10 (organisation) or 12 (individual) digits with correct check digits
    (python-stdnum, through warehouse.identifiers: the rule ingest applies)."""
    return identifiers.normalise_inn(value)


def inn_kind(inn: str | None) -> str | None:
    """'organisation' for a 10-digit INN, 'individual' for a 12-digit one (ИП), None otherwise."""
    if not inn:
        return None
    return {10: "organisation", 12: "individual"}.get(len(inn))


def normalise_kpp(value: str | None) -> str | None:
    """KPP: 4 digits (tax office), 2 digits or capitals (reason), 3 digits."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    kpp = re.sub(r"\s", "", str(value)).upper()
    return kpp if re.fullmatch(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}", kpp) else None


def is_branch_kpp(kpp: str | None) -> bool:
    """A KPP with reason code 43 is a branch's registration (head offices have 01)."""
    return bool(kpp) and kpp[4:6] == "43"


# ---------------------------------------------------------------------------- phones
def normalise_phone(value: str | None) -> str | None:
    """A phone in E.164 ('+74951234567'), or None when it is not a whole phone number: the one
    normaliser ingest uses too (phonenumbers, through warehouse.identifiers), so the values
    loaded from exports are already in this form."""
    return identifiers.normalise_phone(value)


# Geographic (ABC) codes of landlines in the regions `REGION_ALIASES` knows; a mobile number (9xx)
# says nothing about where the organisation is.
PHONE_AREA_CODES: dict[str, str] = {
    "495": "Москва", "499": "Москва",
    "496": "Московская область", "498": "Московская область",
    "812": "Санкт-Петербург", "813": "Ленинградская область",
    "343": "Свердловская область", "351": "Челябинская область",
    "383": "Новосибирская область", "382": "Томская область",
    "843": "Республика Татарстан", "855": "Республика Татарстан",
    "846": "Самарская область", "848": "Самарская область",
    "831": "Нижегородская область",
    "861": "Краснодарский край", "862": "Краснодарский край",
    "863": "Ростовская область",
    "423": "Приморский край", "421": "Хабаровский край",
}  # fmt: skip


def phone_region(phone: str | None) -> str | None:
    """The region of a normalised Russian landline number (+7 and its area code) by its area code;
    None for mobiles, other countries and unknown codes. phonenumbers' geocoder names cities in
    its own spelling; REGION_ALIASES' official names are what the records carry."""
    if not phone or len(phone) != 12 or not phone.startswith("+7"):
        return None
    return PHONE_AREA_CODES.get(phone[2:5])


# ---------------------------------------------------------------------------- domains
# Free mailboxes: an address there says nothing about the organisation.
PERSONAL_EMAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "mail.ru",
        "bk.ru",
        "list.ru",
        "inbox.ru",
        "internet.ru",
        "yandex.ru",
        "yandex.com",
        "yandex.by",
        "yandex.kz",
        "ya.ru",
        "rambler.ru",
        "ro.ru",
        "lenta.ru",
        "autorambler.ru",
        "myrambler.ru",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "yahoo.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "qip.ru",
        "ukr.net",
        "tut.by",
        "e1.ru",
        "ngs.ru",
    }
)


def is_personal_domain(domain: str | None) -> bool:
    if not domain:
        return False
    return domain in PERSONAL_EMAIL_DOMAINS or domain.split(".", 1)[0] in {"hotmail", "outlook", "yahoo"}


def email_domain(email: str | None) -> str | None:
    """The domain of an e-mail address (lower case), or None when it is not an address."""
    if email is None or (isinstance(email, float) and pd.isna(email)):
        return None
    text = str(email).strip().lower()
    if text.count("@") != 1:
        return None
    domain = text.split("@", 1)[1].strip().strip(".")
    return domain if re.fullmatch(r"[\w-]+(\.[\w-]+)*\.[a-zа-я]{2,}", domain) else None


def main_email_domain(emails: str | None, excluded: frozenset[str] = frozenset()) -> str | None:
    """The corporate domain most of the addresses in `emails` (separated by spaces, commas or
    semicolons) use; ties go to the alphabetically first. None when no address is corporate."""
    if emails is None or (isinstance(emails, float) and pd.isna(emails)):
        return None
    counts: dict[str, int] = {}
    for address in re.split(r"[\s,;]+", str(emails)):
        domain = corporate_domain(email_domain(address), excluded)
        if domain:
            counts[domain] = counts.get(domain, 0) + 1
    if not counts:
        return None
    return min(counts, key=lambda d: (-counts[d], d))


@functools.cache
def _host_parser():
    import tldextract

    # the public-suffix list bundled with the package: never fetched, never cached on disk
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def website_domain(url: str | None) -> str | None:
    """The host of a website, without scheme, 'www.', port or path: 'https://www.x.ru/a' -> 'x.ru'.
    None unless the host ends in a public suffix (tldextract: 'x.ru', 'x.co.uk', 'пример.рф')."""
    if url is None or (isinstance(url, float) and pd.isna(url)):
        return None
    text = str(url).strip().lower()
    if not text or any(c.isspace() for c in text):
        return None
    parts = _host_parser()(text)
    if not parts.domain or not parts.suffix:
        return None
    host = ".".join(p for p in (parts.subdomain, parts.domain, parts.suffix) if p)
    return host.removeprefix("www.")


def corporate_domain(domain: str | None, excluded: frozenset[str] = frozenset()) -> str | None:
    """`domain` when it can belong to one organisation: not a free mailbox, not in `excluded`."""
    if not domain or is_personal_domain(domain) or domain in excluded:
        return None
    return domain


MIN_DOMAIN_ROOT_LETTERS = 6  # a shorter first word of a domain ("stroy-", "it-") names no company


def domain_root(domain: str | None) -> str | None:
    """What a corporate domain says of the organisation behind it: its registered name and zone, the
    name cut at the first hyphen when what comes before is a word of its own: 'korvelzan.ru',
    'korvelzan-treid.ru' and 'spb.korvelzan.ru' all give 'korvelzan.ru' (a holding's companies name
    their sites after its brand); 'it-service.ru' stays 'it-service.ru'; 'korvelzan.com' is another
    (namesakes register the free zone)."""
    if not domain:
        return None
    labels = domain.lower().split(".")
    if len(labels) < 2:
        return labels[0]
    label, zone = labels[-2], labels[-1]
    first = label.split("-", 1)[0]
    return f"{first if len(first) >= MIN_DOMAIN_ROOT_LETTERS else label}.{zone}"


# ---------------------------------------------------------------------------- regions
# how regions are written besides their official name (folded with `_region_key`)
REGION_ALIASES: dict[str, str] = {
    "москва": "Москва",
    "moscow": "Москва",
    "мск": "Москва",
    "московская": "Московская область",
    "санктпетербург": "Санкт-Петербург",
    "спб": "Санкт-Петербург",
    "питер": "Санкт-Петербург",
    "stpetersburg": "Санкт-Петербург",
    "saintpetersburg": "Санкт-Петербург",
    "петербург": "Санкт-Петербург",
    "ленинградская": "Ленинградская область",
    "свердловская": "Свердловская область",
    "екатеринбург": "Свердловская область",
    "челябинская": "Челябинская область",
    "челябинск": "Челябинская область",
    "новосибирская": "Новосибирская область",
    "новосибирск": "Новосибирская область",
    "томская": "Томская область",
    "томск": "Томская область",
    "татарстан": "Республика Татарстан",
    "рт": "Республика Татарстан",
    "казань": "Республика Татарстан",
    "самарская": "Самарская область",
    "самара": "Самарская область",
    "нижегородская": "Нижегородская область",
    "нижнийновгород": "Нижегородская область",
    "краснодарский": "Краснодарский край",
    "краснодар": "Краснодарский край",
    "ростовская": "Ростовская область",
    "ростовнадону": "Ростовская область",
    "приморский": "Приморский край",
    "владивосток": "Приморский край",
    "хабаровский": "Хабаровский край",
    "хабаровск": "Хабаровский край",
}
_REGION_NOISE = re.compile(r"\b(г|город|обл|область|край|республика|респ)\b\.?")


def _region_key(value: str) -> str:
    text = unicodedata.normalize("NFKC", value).lower().replace("ё", "е")
    text = _REGION_NOISE.sub(" ", text)
    return re.sub(r"[^\w]|_", "", text)


def normalise_region(value: str | None) -> str | None:
    """The official name of a region written any usual way ('г. Москва', 'Moscow', 'СПб', 'РТ'),
    or the cleaned text itself when the region is not in the list."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    key = _region_key(str(value))
    if not key:
        return None
    return REGION_ALIASES.get(key, _SPACES.sub(" ", str(value)).strip())


# ---------------------------------------------------------------------------- records
def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def py_values(series: pd.Series) -> list:
    """The values of `series` as Python objects, with None for every kind of missing value."""
    return [None if _missing(v) or v is pd.NA else v for v in series.tolist()]


RECORD_COLUMNS: tuple[str, ...] = (
    "record_key",
    "source",
    "entity",
    "record_id",
    "name",
    "inn",
    "kpp",
    "region",
    "phone",
    "email",
    "website",
    "parent_record_key",
    "linked_record_key",
    "contact_account_key",
    "created_at",
)


def normalise_records(records: pd.DataFrame, excluded_domains: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Add the comparable columns linkage needs to entity records (columns `RECORD_COLUMNS`).

    Adds: name_norm, legal_form, name_stem, inn_norm, inn_kind, kpp_norm, region_norm, phone_norm,
    region_key (region_norm, else the region of a landline's area code), email_domain (corporate
    only), website_domain, domain (website, else corporate e-mail domain).
    """
    missing = [c for c in RECORD_COLUMNS if c not in records.columns]
    if missing:
        raise KeyError(f"entity records lack columns {missing}; expected {list(RECORD_COLUMNS)}")
    out = records.copy()

    def values(column: str) -> list:
        return py_values(out[column])

    split = [split_legal_form(v) for v in values("name")]
    names = [fold_script(text).strip() or None for text, _ in split]
    inns = [normalise_inn(v) for v in values("inn")]
    kinds = [inn_kind(v) for v in inns]
    # a 12-digit INN is an individual entrepreneur's, whatever the name says
    forms = [INDIVIDUAL_FORM if k == "individual" else f for (_, f), k in zip(split, kinds, strict=True)]
    kpps = [
        normalise_kpp(v) if k == "organisation" else None for v, k in zip(values("kpp"), kinds, strict=True)
    ]
    emails = [main_email_domain(v, excluded_domains) for v in values("email")]
    sites = [corporate_domain(website_domain(v), excluded_domains) for v in values("website")]
    out["legal_form"] = forms
    out["name_norm"] = names
    out["name_stem"] = [name_stem(n, f) for n, f in zip(names, forms, strict=True)]
    out["inn_norm"] = inns
    out["inn_kind"] = kinds
    out["kpp_norm"] = kpps
    out["region_norm"] = [normalise_region(v) for v in values("region")]
    out["phone_norm"] = [normalise_phone(v) for v in values("phone")]
    # where the record is, for comparisons: the region it names, else its landline's area code
    out["region_key"] = [
        r or phone_region(p) for r, p in zip(values("region_norm"), values("phone_norm"), strict=True)
    ]
    out["email_domain"] = emails
    out["website_domain"] = sites
    out["domain"] = [w or e for w, e in zip(sites, emails, strict=True)]
    return out
