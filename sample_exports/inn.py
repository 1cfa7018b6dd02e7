"""Russian taxpayer numbers (INN) and registration reason codes (KPP).

INN of an organisation: 10 digits, the last a check digit; of an individual (ИП): 12 digits, the last
two check digits (python-stdnum computes and checks them, through warehouse.identifiers: the rule
ingest applies). The first two digits are the region code, the next two the tax office within it.
KPP: 4 digits of the tax office, 2 of the reason ("01" head office, "43" branch), 3 of a sequence.
"""

from __future__ import annotations

import numpy as np

from warehouse.identifiers import inn_check_digits, normalise_inn


def check_digits(body: str) -> str:
    """The check digit(s) that complete a 9-digit (organisation) or 10-digit (individual) INN body."""
    return inn_check_digits(body)


def is_valid_inn(inn: str | None) -> bool:
    """True when `inn` is 10 or 12 ASCII digits with correct check digits."""
    return normalise_inn(inn) == inn if inn else False


def _digits_to_str(digits: np.ndarray) -> np.ndarray:
    width = digits.shape[1]
    as_bytes = (digits.astype(np.uint8) + ord("0")).tobytes()
    return np.frombuffer(as_bytes, dtype=f"S{width}").astype(f"U{width}")


def generate_inns(rng: np.random.Generator, region_codes: np.ndarray, individual: np.ndarray) -> np.ndarray:
    """Valid, distinct INNs: 10 digits for organisations, 12 for individuals (`individual` True).

    `region_codes` (1..99) become the first two digits.
    """
    region_codes = np.asarray(region_codes, dtype=np.int64)
    individual = np.asarray(individual, dtype=bool)
    n = len(region_codes)
    out = np.empty(n, dtype="U12")
    seen: set[str] = set()
    todo = np.arange(n)
    while len(todo):
        k = len(todo)
        body = rng.integers(0, 10, size=(k, 10), dtype=np.int64)
        body[:, 0] = region_codes[todo] // 10
        body[:, 1] = region_codes[todo] % 10
        body[:, 2] = rng.integers(0, 5, size=k)  # tax office 01..49
        body[:, 3] = rng.integers(1, 10, size=k)
        bodies = _digits_to_str(body).tolist()
        cand = [
            b + inn_check_digits(b) if ind else b[:9] + inn_check_digits(b[:9])
            for b, ind in zip(bodies, individual[todo].tolist(), strict=True)
        ]
        retry = []
        for i, value in zip(todo.tolist(), cand, strict=True):
            if value in seen:
                retry.append(i)
            else:
                seen.add(value)
                out[i] = value
        todo = np.array(retry, dtype=np.int64)
    return out


def corrupt_inn(inn: str, rng: np.random.Generator) -> str:
    """The same INN with its last check digit changed, so the check fails."""
    last = int(inn[-1])
    wrong = (last + int(rng.integers(1, 10))) % 10
    return inn[:-1] + str(wrong)


def generate_kpp(tax_office: np.ndarray, branch: np.ndarray) -> np.ndarray:
    """KPP for organisations registered at `tax_office` (4-digit int): reason 01 at head, 43 at branches."""
    tax_office = np.asarray(tax_office, dtype=np.int64)
    reason = np.where(np.asarray(branch, dtype=bool), "43", "01")
    return np.strings.add(np.strings.add(np.strings.zfill(tax_office.astype(str), 4), reason), "001")


def is_valid_kpp(kpp: str | None) -> bool:
    """9 characters: 4 digits, 2 digits or capital Latin letters, 3 digits."""
    if not kpp or len(kpp) != 9 or not kpp.isascii():
        return False
    return kpp[:4].isdigit() and all(c.isdigit() or "A" <= c <= "Z" for c in kpp[4:6]) and kpp[6:].isdigit()
