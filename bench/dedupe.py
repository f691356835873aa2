"""Duplicate-check benchmarks.

`python -m bench.dedupe quality [--contacts N] [--accounts N]`: the labelled benchmark. A clean
generated data set (the demo generator) gets derived duplicates with realistic errors (typos,
swapped names, umlaut spellings, moved address, missing fields, nicknames, …); the scan's pairs
are compared with the known ones: precision, recall and F1 per threshold, misses by error kind.

`python -m bench.dedupe scale --url sqlite:///…`: full scans and hints while typing on an
existing (e.g. 1,000,000-contact) database: seconds, peak memory, hint latency.

`scenarios()` is the part `python -m bench` runs for every size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import resource
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bench.databases import sqlite_database
from bench.scenarios import Measurement
from core.dedupe.hints import duplicate_hints
from core.dedupe.keys import match_keys_for_account, match_keys_for_contact
from core.dedupe.nicknames import SHORT_FORMS
from core.dedupe.scan import find_duplicates, scan_duplicates
from core.dedupe.settings import DEFAULT_THRESHOLDS
from core.demo import bulk_insert, seed_demo
from core.demo_vocabulary import CITIES
from core.permissions import SYSTEM
from core.uow import UnitOfWork
from db.models import Account, Contact
from db.session import create_db_engine, make_session_factory

CONTACT_COLUMNS = (
    "id",
    "external_id",
    "account_id",
    "salutation",
    "title",
    "first_name",
    "last_name",
    "job_title",
    "email",
    "phone",
    "mobile",
    "birth_date",
    "postcode",
    "city",
    "country",
    "owner_id",
)
ACCOUNT_COLUMNS = (
    "id",
    "external_id",
    "name",
    "legal_form",
    "industry",
    "website",
    "phone",
    "email",
    "street",
    "postcode",
    "city",
    "country",
    "owner_id",
)
UMLAUTS = (("ü", "ue"), ("ö", "oe"), ("ä", "ae"), ("ß", "ss"), ("Ü", "Ue"), ("Ö", "Oe"), ("Ä", "Ae"))
LETTERS = "abcdefghijklmnoprstuwz"
Row = dict[str, Any]
Corruption = Callable[[random.Random, Row], bool]


# ---------------------------------------------------------------------------------------- realistic errors


def typo(rng: random.Random, text: str) -> str:
    """One keyboard error inside the word (not the first letter): drop, double, swap or replace."""
    if len(text) < 4:
        return text + rng.choice(LETTERS)
    i = rng.randint(1, len(text) - 2)
    kind = rng.choice(("drop", "double", "swap", "replace"))
    if kind == "drop":
        return text[:i] + text[i + 1 :]
    if kind == "double":
        return text[:i] + text[i] + text[i:]
    if kind == "swap":
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text[:i] + rng.choice(LETTERS) + text[i + 1 :]


def umlaut_spelling(text: str) -> str:
    for umlaut, written in UMLAUTS:
        if umlaut in text:
            return text.replace(umlaut, written)
    for umlaut, written in UMLAUTS:
        if written in text:
            return text.replace(written, umlaut, 1)
    return text.upper()


def national_format(phone: str | None) -> str | None:
    """ "+49 30 1234560" → "030 1234560"."""
    return "0" + phone.removeprefix("+49 ") if phone and phone.startswith("+49 ") else phone


def _typo_field(field: str) -> Corruption:
    def corrupt(rng: random.Random, row: Row) -> bool:
        row[field] = typo(rng, row[field])
        return True

    return corrupt


def _swap_names(rng: random.Random, row: Row) -> bool:
    row["first_name"], row["last_name"] = row["last_name"], row["first_name"]
    return True


def _umlauts(rng: random.Random, row: Row) -> bool:
    field = rng.choice(("first_name", "last_name"))
    row[field] = umlaut_spelling(row[field])
    return True


def _moved(rng: random.Random, row: Row) -> bool:
    city = rng.choice([c for c in CITIES if c.name != row.get("city")])
    row["postcode"], row["city"] = f"{rng.randint(city.postcode_from, city.postcode_to):05d}", city.name
    row["phone"] = f"+49 {city.dialling_code} {rng.randint(100_000, 9_999_999)}" if rng.random() < 0.5 else None
    row["account_id"] = None
    if row.get("street"):
        row["street"] = f"{typo(rng, 'Lindenallee')} {rng.randint(1, 99)}"
    return True


def _missing(rng: random.Random, row: Row) -> bool:
    present = [f for f in ("email", "phone", "mobile", "birth_date", "postcode", "city", "website") if row.get(f)]
    if not present:
        return False
    for field in rng.sample(present, rng.randint(1, min(2, len(present)))):
        row[field] = None
    return True


def _nickname(rng: random.Random, row: Row) -> bool:
    first = row["first_name"]
    forms = SHORT_FORMS.get(first.lower())
    if forms:
        row["first_name"] = rng.choice(forms).capitalize()
        return True
    full = next((name for name, short in SHORT_FORMS.items() if first.lower() in short), None)
    if full:
        row["first_name"] = full.capitalize()
        return True
    return False


def _birth_date(rng: random.Random, row: Row) -> bool:
    date: dt.date | None = row.get("birth_date")
    if date is None or date.day > 12 or date.day == date.month:
        return False
    row["birth_date"] = date.replace(day=date.month, month=date.day)
    return True


def _email_spelling(rng: random.Random, row: Row) -> bool:
    email = row.get("email")
    if not email:
        return False
    local, domain = email.split("@")
    row["email"] = rng.choice((email.upper(), f"{local}+crm@{domain}", email.title()))
    return True


def _phone_format(rng: random.Random, row: Row) -> bool:
    if not row.get("phone") or not row["phone"].startswith("+49 "):
        return False
    row["phone"] = national_format(row["phone"])
    return True


def _legal_form(rng: random.Random, row: Row) -> bool:
    form = row.get("legal_form")
    if not form or not row["name"].endswith(form):
        return False
    base = row["name"].removesuffix(form).strip()
    row["name"] = rng.choice((base, f"{base} {form.replace(' ', '')}", f"{base} {form.upper()}"))
    row["legal_form"] = None
    return True


def _street_spelling(rng: random.Random, row: Row) -> bool:
    street = row.get("street")
    if not street:
        return False
    for long, short in (("straße", "str."), ("Straße", "Str."), ("platz", "pl.")):
        if long in street:
            row["street"] = street.replace(long, short)
            return True
    row["street"] = street.replace(" ", "  ", 1).lower()
    return True


def _word_order(rng: random.Random, row: Row) -> bool:
    words = row["name"].split(" ")
    if " & " not in row["name"] or len(words) < 3:
        return False
    left, right = row["name"].split(" & ", 1)
    right_words = right.split(" ")
    row["name"] = f"{right_words[0]} & {left} {' '.join(right_words[1:])}".strip()
    return True


CONTACT_ERRORS: dict[str, tuple[Corruption, int]] = {
    "Tippfehler Nachname": (_typo_field("last_name"), 20),
    "Tippfehler Vorname": (_typo_field("first_name"), 15),
    "Vor-/Nachname vertauscht": (_swap_names, 6),
    "Umlaut-Schreibweise": (_umlauts, 10),
    "Umzug": (_moved, 12),
    "fehlende Felder": (_missing, 15),
    "Spitzname": (_nickname, 8),
    "Geburtsdatum Tag/Monat": (_birth_date, 4),
    "E-Mail-Schreibweise": (_email_spelling, 6),
    "Telefon-Format": (_phone_format, 6),
}
ACCOUNT_ERRORS: dict[str, tuple[Corruption, int]] = {
    "Tippfehler Name": (_typo_field("name"), 25),
    "Rechtsform weggelassen/anders": (_legal_form, 15),
    "Umlaut-Schreibweise": (lambda rng, row: bool(row.update(name=umlaut_spelling(row["name"]))) or True, 10),
    "Straße abgekürzt": (_street_spelling, 12),
    "Umzug": (_moved, 10),
    "fehlende Felder": (_missing, 15),
    "Namensteile vertauscht": (_word_order, 5),
    "Telefon-Format": (_phone_format, 8),
}


def derive_duplicate(rng: random.Random, row: Row, errors: dict[str, tuple[Corruption, int]]) -> tuple[Row, list[str]]:
    """A copy of `row` with 1–3 errors applied (names of the errors that changed something)."""
    copy = dict(row)
    names, weights = list(errors), [w for _, w in errors.values()]
    wanted = rng.choices((1, 2, 3), (55, 35, 10))[0]
    applied: list[str] = []
    for _ in range(10):
        if len(applied) == wanted:
            break
        name = rng.choices(names, weights)[0]
        if name not in applied and errors[name][0](rng, copy):
            applied.append(name)
    return copy, applied


# ---------------------------------------------------------------------------------------- labelled benchmark


@dataclass(frozen=True)
class QualityResult:
    entity: str
    records: int
    duplicates: int
    compared: int
    blocking_recall: float
    rows: tuple[tuple[float, int, int, int, float, float, float], ...]  # threshold, tp, fp, fn, p, r, f1
    misses: Counter[str]
    miss_examples: tuple[str, ...]
    false_positive_examples: tuple[str, ...]


def _rows(session: Session, model: Any, columns: Sequence[str]) -> list[Row]:
    stmt = select(*[getattr(model, c) for c in columns]).order_by(model.id)
    return [dict(zip(columns, row)) for row in session.execute(stmt)]


def _insert_duplicates(
    session: Session, model: Any, rows: list[Row], keys: Callable[[Row], dict[str, Any]], prefix: str
) -> dict[str, int]:
    now = dt.datetime.now(dt.timezone.utc)
    prepared = []
    for number, row in enumerate(rows, 1):
        values = {k: v for k, v in row.items() if k != "id"} | {"external_id": f"{prefix}-{number:06d}"}
        prepared.append(values | keys(values) | {"version": 1, "created_at": now, "updated_at": now})
    bulk_insert(session, model, prepared)
    stmt = select(model.external_id, model.id).where(model.external_id.like(f"{prefix}-%"))
    return dict(session.execute(stmt).tuples().all())


def labelled_quality(
    factory: sessionmaker[Session], entity: str, share: float, seed: int, thresholds: Sequence[float]
) -> QualityResult:
    model, columns, errors, keys, prefix = (
        (Contact, CONTACT_COLUMNS, CONTACT_ERRORS, match_keys_for_contact, "DUPC")
        if entity == "contact"
        else (Account, ACCOUNT_COLUMNS, ACCOUNT_ERRORS, match_keys_for_account, "DUPA")
    )
    rng = random.Random(f"{seed}:dedupe:{entity}")
    with factory() as session, session.begin():
        originals = _rows(session, model, columns)
        chosen = rng.sample(originals, int(len(originals) * share))
        derived = [derive_duplicate(rng, row, errors) for row in chosen]
        ids = _insert_duplicates(session, model, [row for row, _ in derived], keys, prefix)
    truth: dict[tuple[int, int], list[str]] = {}
    for number, (original, (_, applied)) in enumerate(zip(chosen, derived), 1):
        pair = tuple(sorted((original["id"], ids[f"{prefix}-{number:06d}"])))
        truth[pair] = applied  # type: ignore[index]
    uow = UnitOfWork(factory, actor=SYSTEM)
    with uow:
        pairs, records, compared, _, _ = find_duplicates(uow, entity, 0.0)
    scores = {(p.id_a, p.id_b): p.score for p in pairs}
    by_id = {row["id"]: row for row in originals}
    result_rows = []
    for threshold in thresholds:
        found = {pair for pair, score in scores.items() if score >= threshold}
        tp = len(found & truth.keys())
        fp, fn = len(found) - tp, len(truth) - tp
        precision = tp / len(found) if found else 1.0
        recall = tp / len(truth)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        result_rows.append((threshold, tp, fp, fn, precision, recall, f1))
    default = DEFAULT_THRESHOLDS[entity]
    missed = [pair for pair in truth if scores.get(pair, 0.0) < default]
    misses = Counter(kind for pair in missed for kind in truth[pair])
    examples = tuple(
        f"{'+'.join(truth[p])}: score {scores.get(p, 0):.2f} ("
        + ("nicht im Block" if p not in scores else "zu niedrig")
        + f") {_describe(by_id.get(p[0]))}"
        for p in missed[:8]
    )
    false_positives = [pair for pair, score in scores.items() if score >= default and pair not in truth]
    fp_examples = tuple(
        f"{scores[p]:.2f}: {_describe(by_id.get(p[0]))} ~ {_describe(by_id.get(p[1]))}" for p in false_positives[:8]
    )
    return QualityResult(
        entity,
        records,
        len(truth),
        compared,
        sum(p in scores for p in truth) / len(truth),
        tuple(result_rows),
        misses,
        examples,
        fp_examples,
    )


def _describe(row: Row | None) -> str:
    if row is None:
        return "(Dublette)"
    keys = ("first_name", "last_name", "name", "postcode", "city", "email", "birth_date")
    return " ".join(str(row[k]) for k in keys if row.get(k))


def print_quality(result: QualityResult) -> None:
    print(
        f"\n**{result.entity}**: {result.records} Datensätze, davon {result.duplicates} abgeleitete Dubletten; "
        f"{result.compared} Paare verglichen; Blocking findet {result.blocking_recall:.1%} der echten Paare\n"
    )
    print("| Schwelle | TP | FP | FN | Precision | Recall | F1 |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for threshold, tp, fp, fn, p, r, f1 in result.rows:
        print(f"| {threshold:.2f} | {tp} | {fp} | {fn} | {p:.3f} | {r:.3f} | {f1:.3f} |")
    print("\nVerpasst (Fehlerarten, Mehrfachnennung):", dict(result.misses.most_common()))
    for line in result.miss_examples:
        print("  FN", line)
    for line in result.false_positive_examples:
        print("  FP", line)


# ---------------------------------------------------------------------------------------- scale


def hint_latencies(factory: sessionmaker[Session], samples: int = 50, seed: int = 3) -> list[float]:
    """Milliseconds per hint call for typed variants (with a typo in the last name) of random contacts."""
    rng = random.Random(seed)
    with factory() as session:
        top = session.scalar(select(Contact.id).order_by(Contact.id.desc()).limit(1)) or 0
        ids = [rng.randint(1, top) for _ in range(samples)]
        rows = [r for r in (session.get(Contact, i) for i in ids) if r is not None]
        typed = [
            {
                "first_name": r.first_name,
                "last_name": typo(rng, r.last_name),
                "email": r.email,
                "phone": r.phone,
                "postcode": r.postcode,
                "city": r.city,
                "birth_date": r.birth_date,
            }
            for r in rows
        ]
    timings = []
    for values in typed:
        started = time.perf_counter()
        duplicate_hints(UnitOfWork(factory, actor=SYSTEM), "contacts", values)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def scenarios(factory: sessionmaker[Session], backend: str, size: str) -> list[Measurement]:
    """Full scans of both entities and hint latency, for the `python -m bench` table."""
    results = []
    for entity in ("contacts", "accounts"):
        report = scan_duplicates(UnitOfWork(factory, actor=SYSTEM), entity=entity, out=io.StringIO())
        label = "Kontakte" if entity == "contacts" else "Firmen"
        results.append(
            Measurement(backend, size, f"Dubletten: Scan {label} ({report.found} Paare)", report.seconds, "s")
        )
    timings = hint_latencies(factory)
    results.append(
        Measurement(backend, size, "Dubletten: Hinweise beim Tippen (Median)", statistics.median(timings), "ms")
    )
    results.append(Measurement(backend, size, "Dubletten: Hinweise beim Tippen (p95)", _p95(timings), "ms"))
    return results


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def scale(url: str, entities: Sequence[str]) -> None:
    engine = create_db_engine(url)
    factory = make_session_factory(engine)
    for entity in entities:
        started = time.perf_counter()
        with open(f"/tmp/dedupe-{entity}.csv", "w", encoding="utf-8") as out:
            report = scan_duplicates(UnitOfWork(factory, actor=SYSTEM), entity=entity, out=out, progress=print)
        print(report.describe(), dict(report.phase_seconds), f"{time.perf_counter() - started:.1f} s")
        print(f"Spitzenspeicher bisher: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    timings = hint_latencies(factory, samples=200)
    print(
        f"Hinweise beim Tippen: Median {statistics.median(timings):.1f} ms, p95 {_p95(timings):.1f} ms, "
        f"max {max(timings):.1f} ms ({len(timings)} Aufrufe)"
    )
    engine.dispose()


def quality(contacts: int, accounts: int, share: float, seed: int) -> None:
    thresholds = (0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
    with sqlite_database() as url:
        engine = create_db_engine(url)
        factory = make_session_factory(engine)
        seed_demo(factory, size="small", seed=seed, accounts=accounts, contacts=contacts, history=0)
        for entity in ("contact", "account"):
            print_quality(labelled_quality(factory, entity, share, seed, thresholds))
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dedupe", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("quality", help="gelabelter Benchmark: Precision, Recall, F1")
    q.add_argument("--contacts", type=int, default=20_000)
    q.add_argument("--accounts", type=int, default=5_000)
    q.add_argument("--share", type=float, default=0.1, help="Anteil der Datensätze mit abgeleiteter Dublette")
    q.add_argument("--seed", type=int, default=7)
    s = sub.add_parser("scale", help="Scan und Hinweise auf einer vorhandenen Datenbank messen")
    s.add_argument("--url", required=True)
    s.add_argument("--entity", action="append", choices=("contacts", "accounts"))
    args = parser.parse_args()
    if args.command == "quality":
        quality(args.contacts, args.accounts, args.share, args.seed)
    else:
        scale(args.url, args.entity or ["contacts", "accounts"])


if __name__ == "__main__":
    main()
