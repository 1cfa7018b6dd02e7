"""Names as the different systems write them: companies, legal forms, people, e-mails and phones.

Accounting writes a company's name carefully (legal form, quotes, sometimes the full form); the CRM
less so; people typing into a web form write whatever they like: lower case, no legal form, typos,
Latin letters. These helpers produce those variants from one canonical name, deterministically from
the random stream they are given. They loop over single names: callers use them per entity, per
contact or per lead (tens of thousands), never per event row.
"""

from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------------------- legal forms
ORG_FORMS = ("ООО", "АО", "ПАО", "ЗАО")
ORG_FORM_WEIGHTS = (0.78, 0.12, 0.03, 0.07)
INDIVIDUAL_FORM = "ИП"
FULL_FORMS = {
    "ООО": "Общество с ограниченной ответственностью",
    "АО": "Акционерное общество",
    "ПАО": "Публичное акционерное общество",
    "ЗАО": "Закрытое акционерное общество",
    "ИП": "Индивидуальный предприниматель",
}
LATIN_FORMS = {
    "ООО": ("OOO", "LLC", "LLC", "Ltd"),
    "АО": ("JSC", "AO"),
    "ПАО": ("PJSC", "PAO"),
    "ЗАО": ("ZAO", "CJSC"),
    "ИП": ("IP",),
}

# ---------------------------------------------------------------------------- company names
STEM_HEADS = (
    "Техно", "Строй", "Агро", "Энерго", "Транс", "Мед", "Фарм", "Нефте", "Газо", "Сиб", "Урал", "Волга",
    "Спец", "Пром", "Авто", "Инфо", "Бизнес", "Торг", "Лес", "Хим", "Металл", "Север", "Юг", "Восток",
    "Альфа", "Гео", "Эко", "Гранит", "Кедр", "Вектор", "Стандарт", "Профи", "Мега", "Дельта", "Крон",
    "Оптима", "Интер", "Рус", "Полимер", "Электро", "Термо", "Аква", "Капитал", "Ресурс", "Балт", "Сталь",
    "Зерно", "Медиа",
)  # fmt: skip
STEM_TAILS = (
    "сервис", "пром", "торг", "строй", "инвест", "групп", "комплект", "снаб", "тех", "лайн", "маркет",
    "систем", "ресурс", "логистик", "трейд", "проект", "монтаж", "софт", "энерго", "холдинг", "лаб",
    "альянс", "центр", "мастер",
)  # fmt: skip
# Latin stems and how Russians write them in Cyrillic
LATIN_STEMS = {
    "Nord": "Норд", "Tech": "Тех", "Data": "Дата", "Smart": "Смарт", "Pro": "Про", "Net": "Нет",
    "Cloud": "Клауд", "Soft": "Софт", "Line": "Лайн", "Logic": "Лоджик", "Point": "Поинт",
    "Vision": "Вижн", "Sky": "Скай", "Core": "Кор", "Flex": "Флекс", "Grid": "Грид", "Max": "Макс",
    "Neo": "Нео", "Prime": "Прайм", "Trade": "Трейд", "Group": "Групп", "Lab": "Лаб", "Star": "Стар",
}  # fmt: skip
# Made-up brand roots of holdings (sample_exports/holdings.py): syllables no other stem uses, so a
# brand is as rare in the data as a real holding's
BRAND_SYLLABLES = (
    "Кор", "Вел", "Зан", "Мир", "Тал", "Рон", "Лак", "Вис", "Дар", "Сен", "Бор", "Нел", "Гар", "Фел",
    "Лин", "Мор", "Тек", "Вар", "Рил", "Зор",
)  # fmt: skip
# what holdings call their subsidiaries: the brand and a line of business
HOLDING_QUALIFIERS = (
    "Трейд", "Логистик", "Сервис", "Девелопмент", "Инжиниринг", "Ритейл", "Финанс", "Технолоджи",
    "Агро", "Энерджи",
)  # fmt: skip
QUALIFIERS = (
    "Плюс", "Урал", "Сибирь", "Центр", "Регион", "Логистика", "Трейд", "Сервис", "Инжиниринг",
    "Девелопмент", "Юг", "Север", "Капитал", "Терминал", "Снабжение", "Производство", "Ритейл",
)  # fmt: skip

# ---------------------------------------------------------------------------- people
MALE_FIRST = (
    "Александр", "Алексей", "Андрей", "Антон", "Артём", "Борис", "Вадим", "Виктор", "Владимир",
    "Дмитрий", "Евгений", "Егор", "Иван", "Игорь", "Кирилл", "Константин", "Максим", "Михаил",
    "Николай", "Олег", "Павел", "Роман", "Сергей", "Станислав", "Юрий",
)  # fmt: skip
FEMALE_FIRST = (
    "Анна", "Алина", "Валентина", "Виктория", "Галина", "Дарья", "Екатерина", "Елена", "Ирина",
    "Ксения", "Людмила", "Марина", "Мария", "Наталья", "Ольга", "Полина", "Светлана", "Татьяна",
    "Юлия", "Яна",
)  # fmt: skip
LAST_NAMES = (
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков",
    "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов", "Козлов",
    "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Соловьёв",
    "Борисов", "Яковлев", "Григорьев", "Романов", "Воробьёв", "Сергеев", "Кузьмин", "Фролов",
    "Александров", "Дмитриев", "Королёв", "Гусев", "Киселёв", "Ильин", "Максимов", "Поляков",
    "Сорокин", "Виноградов", "Ковалёв", "Белов", "Медведев", "Антонов", "Тарасов", "Жуков",
    "Баранов", "Филиппов", "Комаров", "Давыдов", "Беляев", "Герасимов", "Богданов", "Осипов",
    "Сидоров", "Матвеев", "Титов", "Марков", "Миронов", "Крылов", "Куликов", "Карпов", "Власов",
    "Мельников", "Денисов", "Гаврилов", "Тихонов", "Казаков", "Афанасьев", "Данилов", "Савельев",
    "Тимофеев", "Фомин", "Чернов", "Абрамов", "Мартынов", "Ефимов", "Федотов", "Щербаков", "Назаров",
    "Калинин", "Исаев", "Чернышёв", "Быков", "Маслов", "Родионов", "Коновалов", "Лазарев", "Воронин",
    "Климов", "Филатов", "Пономарёв", "Голубев", "Кудрявцев", "Прохоров", "Наумов", "Потапов",
)  # fmt: skip
PATRONYMICS = (
    ("Александрович", "Александровна"),
    ("Алексеевич", "Алексеевна"),
    ("Андреевич", "Андреевна"),
    ("Борисович", "Борисовна"),
    ("Викторович", "Викторовна"),
    ("Владимирович", "Владимировна"),
    ("Дмитриевич", "Дмитриевна"),
    ("Евгеньевич", "Евгеньевна"),
    ("Иванович", "Ивановна"),
    ("Игоревич", "Игоревна"),
    ("Михайлович", "Михайловна"),
    ("Николаевич", "Николаевна"),
    ("Олегович", "Олеговна"),
    ("Павлович", "Павловна"),
    ("Петрович", "Петровна"),
    ("Сергеевич", "Сергеевна"),
    ("Юрьевич", "Юрьевна"),
)
JOB_TITLES = (
    "Генеральный директор", "Финансовый директор", "Главный бухгалтер", "Руководитель ИТ-отдела",
    "Менеджер по закупкам", "Коммерческий директор", "Системный администратор", "Инженер",
    "Специалист отдела снабжения", "Начальник отдела продаж", "Офис-менеджер", "Юрист",
)  # fmt: skip
PERSONAL_DOMAINS = ("gmail.com", "mail.ru", "yandex.ru", "bk.ru", "inbox.ru", "list.ru", "ya.ru")

STREETS = (
    "ул. Ленина", "ул. Советская", "пр-т Мира", "ул. Гагарина", "ул. Садовая", "ул. Пушкина",
    "ул. Заводская", "ш. Энтузиастов", "наб. Реки Фонтанки", "ул. Промышленная", "пр-т Победы",
    "ул. Строителей", "Ленинградский пр-т", "ул. Малышева", "Красный пр-т", "ул. Баумана",
)  # fmt: skip

_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y",
    "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip
# Keys that sit next to each other on the ЙЦУКЕН keyboard (typos)
_NEIGHBOURS = {
    "й": "цф", "ц": "йуы", "у": "цкв", "к": "уеа", "е": "кнп", "н": "егр", "г": "ншо", "ш": "гщл",
    "щ": "шзд", "з": "щхж", "ф": "йыя", "ы": "цвч", "в": "уас", "а": "кпм", "п": "еари", "р": "нпот",
    "о": "грль", "л": "шодб", "д": "щлжю", "ж": "зэд", "я": "фч", "ч": "ыяс", "с": "вчм", "м": "асч",
    "и": "пмт", "т": "рти", "ь": "олб", "б": "льд", "ю": "дб",
    "a": "sq", "s": "ad", "d": "sf", "o": "ip", "e": "wr", "t": "ry", "n": "bm", "r": "et", "i": "uo",
}  # fmt: skip


def transliterate(text: str) -> str:
    """Cyrillic to Latin, the way a Russian types a name in Latin letters (Техносервис -> Tekhnoservis)."""
    out = []
    for ch in text:
        low = ch.lower()
        if low in _TRANSLIT:
            lat = _TRANSLIT[low]
            out.append(lat.capitalize() if ch != low else lat)
        else:
            out.append(ch)
    return "".join(out)


def pick(rng: np.random.Generator, items, p=None):
    """One element of `items` (a sequence), optionally with weights `p` (normalised here)."""
    if p is None:
        return items[int(rng.integers(len(items)))]
    w = np.asarray(p, dtype=float)
    return items[int(rng.choice(len(items), p=w / w.sum()))]


def company_stem(rng: np.random.Generator, latin: bool) -> tuple[str, str]:
    """A company stem: (Cyrillic spelling, Latin spelling)."""
    if latin:
        keys = list(LATIN_STEMS)
        a, b = pick(rng, keys), pick(rng, keys)
        while b == a:
            b = pick(rng, keys)
        return LATIN_STEMS[a] + LATIN_STEMS[b].lower(), a + b
    head, tail = pick(rng, STEM_HEADS), pick(rng, STEM_TAILS)
    cyr = head + tail
    return cyr, transliterate(cyr)


def brand_root(rng: np.random.Generator) -> tuple[str, str]:
    """A holding's made-up brand (Cyrillic, Latin): three syllables, "Корвелзан"."""
    parts = [pick(rng, BRAND_SYLLABLES) for _ in range(3)]
    cyr = parts[0] + "".join(p.lower() for p in parts[1:])
    return cyr, transliterate(cyr)


def typo(text: str, rng: np.random.Generator) -> str:
    """One keyboard slip: a swapped, dropped, doubled or neighbouring letter."""
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    if len(letters) < 4:
        return text
    i = letters[int(rng.integers(1, len(letters) - 1))]
    kind = int(rng.integers(4))
    if kind == 0 and i + 1 < len(text) and text[i + 1].isalpha():
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == 1:
        return text[:i] + text[i + 1 :]
    if kind == 2:
        return text[:i] + text[i] + text[i:]
    near = _NEIGHBOURS.get(text[i].lower())
    if near:
        c = near[int(rng.integers(len(near)))]
        return text[:i] + (c.upper() if text[i].isupper() else c) + text[i + 1 :]
    return text[:i] + text[i + 1 :]


def abbreviate(base: str) -> str:
    """A shorter form: qualifiers cut to 3 letters, compound stems written CamelCase with a hyphen."""
    words = base.split(" ")
    if len(words) > 1:
        return " ".join([words[0]] + [w[:3] + "." for w in words[1:]])
    for head in STEM_HEADS:
        if base.startswith(head) and len(base) > len(head):
            return head + "-" + base[len(head)].upper() + base[len(head) + 1 :]
    return base.upper()


# Profiles: how carefully each system writes a company name.
# keys: quotes (weights for «», "", '', none), form_pos (before, after, after_comma, missing, full),
# latin (share written in Latin letters), typo, lower, upper, abbrev
NAME_PROFILES: dict[str, dict] = {
    "finance": {
        "quotes": (0.3, 0.66, 0.0, 0.04),
        "form_pos": (0.78, 0.04, 0.0, 0.0, 0.18),
        "latin": 0.0,
        "typo": 0.01,
        "lower": 0.0,
        "upper": 0.12,
        "abbrev": 0.0,
    },
    "crm": {
        "quotes": (0.35, 0.25, 0.05, 0.35),
        "form_pos": (0.45, 0.12, 0.13, 0.28, 0.02),
        "latin": 0.08,
        "typo": 0.05,
        "lower": 0.03,
        "upper": 0.05,
        "abbrev": 0.06,
    },
    "typed": {
        "quotes": (0.08, 0.3, 0.07, 0.55),
        "form_pos": (0.35, 0.12, 0.05, 0.48, 0.0),
        "latin": 0.14,
        "typo": 0.15,
        "lower": 0.25,
        "upper": 0.07,
        "abbrev": 0.1,
    },
}
_QUOTES = (("«", "»"), ('"', '"'), ("'", "'"), ("", ""))


def company_name(native: str, other: str, form: str, rng: np.random.Generator, profile: str) -> str:
    """A company name as one system writes it.

    `native` is the canonical name (no legal form, no quotes) in the script the company uses,
    `other` the same name in the other script (Latin for a Cyrillic name and the reverse).
    """
    pr = NAME_PROFILES[profile]
    name = other if rng.random() < pr["latin"] else native
    if rng.random() < pr["abbrev"]:
        name = abbreviate(name)
    if rng.random() < pr["typo"]:
        name = typo(name, rng)
    latin_text = name.isascii()
    # accounting keeps the Russian legal form even for a Latin name (ООО "NordLogic")
    f = pick(rng, LATIN_FORMS[form]) if latin_text and profile != "finance" and rng.random() < 0.75 else form
    q_open, q_close = _QUOTES[int(rng.choice(4, p=np.array(pr["quotes"]) / sum(pr["quotes"])))]
    if form == INDIVIDUAL_FORM:
        q_open = q_close = ""  # ИП Иванов Иван Иванович: a person's name is not quoted
    quoted = f"{q_open}{name}{q_close}"
    pos = int(rng.choice(5, p=np.array(pr["form_pos"]) / sum(pr["form_pos"])))
    if pos == 4 and not latin_text:
        out = f"{FULL_FORMS[form]} {quoted}"
    elif pos == 3 and form != INDIVIDUAL_FORM:
        out = quoted
    elif pos == 1:
        out = f"{quoted} {f}"
    elif pos == 2:
        out = f"{quoted}, {f}"
    else:
        out = f"{f} {quoted}"
    r = rng.random()
    if r < pr["lower"]:
        out = out.lower()
    elif r < pr["lower"] + pr["upper"]:
        out = out.upper()
    return out


# ---------------------------------------------------------------------------- people
def person(rng: np.random.Generator) -> tuple[str, str, str, bool]:
    """(last, first, patronymic, is_female) of a Russian person."""
    female = bool(rng.random() < 0.45)
    last = pick(rng, LAST_NAMES)
    first = pick(rng, FEMALE_FIRST if female else MALE_FIRST)
    patronymic = pick(rng, PATRONYMICS)[int(female)]
    if female:
        last = last + "а"
    return last, first, patronymic, female


def person_name(last: str, first: str, patronymic: str, rng: np.random.Generator, style: str) -> str:
    """A person's name as written in a CRM (`crm`) or typed by the person (`typed`)."""
    r = rng.random()
    if style == "crm":
        if r < 0.55:
            return f"{last} {first} {patronymic}"
        if r < 0.85:
            return f"{first} {last}"
        if r < 0.95:
            return f"{last} {first[0]}.{patronymic[0]}."
        return transliterate(f"{first} {last}")
    if r < 0.45:
        return f"{first} {last}"
    if r < 0.65:
        return first
    if r < 0.8:
        return f"{last} {first} {patronymic}"
    if r < 0.9:
        return f"{first.lower()} {last.lower()}"
    return transliterate(f"{first} {last}")


def email_local(last: str, first: str, rng: np.random.Generator, personal: bool) -> str:
    lat_last = transliterate(last).lower()
    lat_first = transliterate(first).lower()
    r = rng.random()
    if personal:
        if r < 0.4:
            return f"{lat_first}.{lat_last}{int(rng.integers(70, 100))}"
        if r < 0.7:
            return f"{lat_last}.{lat_first[0]}"
        return f"{lat_first}{lat_last[:3]}{int(rng.integers(1, 999))}"
    if r < 0.5:
        return f"{lat_first[0]}.{lat_last}"
    if r < 0.8:
        return f"{lat_last}"
    return f"{lat_first}.{lat_last}"


def email_address(last: str, first: str, domain: str | None, rng: np.random.Generator) -> str:
    """A corporate address at `domain`, or a personal one (gmail, mail.ru, yandex...) when domain is None."""
    personal = domain is None
    dom = pick(rng, PERSONAL_DOMAINS) if personal else domain
    addr = f"{email_local(last, first, rng, personal)}@{dom}"
    if rng.random() < 0.05:
        addr = addr.capitalize()
    return addr


def malformed_email(address: str, rng: np.random.Generator) -> str:
    """An e-mail as mistyped by hand: no dot in the domain, a space, a doubled @ or a comma."""
    local, _, dom = address.partition("@")
    kind = int(rng.integers(4))
    if kind == 0:
        return f"{local}@{dom.split('.')[0]}"
    if kind == 1:
        return f"{local} @{dom}"
    if kind == 2:
        return f"{local}@@{dom}"
    return f"{local}@{dom.replace('.', ',')}"


def company_domain(latin_base: str, rng: np.random.Generator) -> str:
    slug = "".join(c for c in latin_base.lower() if c.isalnum())
    return slug + pick(rng, (".ru", ".ru", ".ru", ".com", "-group.ru", ".su"))


def phone_number(rng: np.random.Generator, area_code: str | None) -> str:
    """A Russian phone number in one of the formats people use (+7, 8, spaces, brackets, dashes).

    Mobile when `area_code` is None, else a landline in that area.
    """
    code = area_code or f"9{int(rng.integers(0, 100)):02d}"
    rest = f"{int(rng.integers(0, 10_000_000)):07d}"
    a, b, c = rest[:3], rest[3:5], rest[5:]
    fmt = int(rng.integers(8))
    if fmt == 0:
        return f"+7 ({code}) {a}-{b}-{c}"
    if fmt == 1:
        return f"8 ({code}) {a}-{b}-{c}"
    if fmt == 2:
        return f"+7{code}{rest}"
    if fmt == 3:
        return f"8{code}{rest}"
    if fmt == 4:
        return f"+7 {code} {a} {b} {c}"
    if fmt == 5:
        return f"8-{code}-{a}-{b}-{c}"
    if fmt == 6:
        return f"7{code}{rest}"
    return f"({code}) {a}-{b}{c}"


def odd_phone(rng: np.random.Generator) -> str:
    """A phone as sometimes typed: too short, with an extension, or words."""
    kind = int(rng.integers(3))
    if kind == 0:
        return f"{int(rng.integers(10_000, 999_999))}"
    if kind == 1:
        digits = f"{int(rng.integers(0, 10_000_000)):07d}"
        return f"+7 (495) {digits[:3]}-{digits[3:5]}-{digits[5:]} доб. {int(rng.integers(100, 999))}"
    return "нет"


def address(region: str, rng: np.random.Generator) -> str:
    city = region if not region.endswith(("область", "край")) and "Республика" not in region else None
    street = pick(rng, STREETS)
    house = int(rng.integers(1, 180))
    office = int(rng.integers(1, 900))
    zip_code = int(rng.integers(101_000, 692_999))
    place = f"г. {city}" if city else region
    return f"{zip_code}, {place}, {street}, д. {house}, оф. {office}"
