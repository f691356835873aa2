"""German short forms of first names, mapped to one canonical form ("Hans" and "Johannes" agree)."""

from __future__ import annotations

from core.dedupe.normalize import name_key

_GROUPS: tuple[tuple[str, ...], ...] = (
    ("johannes", "hans", "hannes", "johann"),
    ("josef", "joseph", "sepp", "seppl", "jupp"),
    ("bernhard", "bernd"),
    ("katharina", "kathrin", "katrin", "kathi", "katja", "katrina"),
    ("stefanie", "stephanie", "steffi"),
    ("alexander", "alex", "sascha"),
    ("alexandra", "alex", "sandra"),
    ("christian", "chris", "christoph", "christopher"),
    ("christina", "christine", "tina", "chris"),
    ("michael", "micha", "michi", "mike"),
    ("andreas", "andi", "andy"),
    ("thomas", "tom", "tommy"),
    ("matthias", "matze", "mathias", "matthes"),
    ("wolfgang", "wolf"),
    ("friedrich", "fritz"),
    ("heinrich", "heinz", "heiner"),
    ("wilhelm", "willi", "willy", "wilm"),
    ("elisabeth", "elli", "lisa", "liesel", "elise", "betty"),
    ("margarete", "margarethe", "grete", "gretel", "margit", "marga"),
    ("barbara", "babsi", "babette"),
    ("gabriele", "gabi", "gaby"),
    ("susanne", "susi", "sanne"),
    ("franziska", "franzi"),
    ("franz", "franziskus"),
    ("maximilian", "max", "maxi"),
    ("nikolaus", "niklas", "nils", "klaus", "claus"),
    ("benjamin", "ben", "benni"),
    ("daniel", "dani"),
    ("daniela", "dani"),
    ("tobias", "tobi"),
    ("dominik", "dome", "dominic"),
    ("sebastian", "basti"),
    ("florian", "flo"),
    ("jürgen", "juergen", "jörg", "joerg", "jorg", "jurgen"),
    ("ulrich", "uli", "ulli"),
    ("rudolf", "rudi"),
    ("walter", "walther"),
    ("patrick", "patrik"),
    ("karl", "carl", "kalle"),
    ("annemarie", "anne", "anna", "anni", "annika", "änne"),
    ("manfred", "manni"),
    ("mareike", "maike", "meike"),
    ("jessica", "jessika", "jessi"),
    ("cornelia", "conny", "nele"),
    ("dorothea", "dora", "doris", "thea"),
)


def _build() -> dict[str, frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for group in _GROUPS:
        keys = {name_key(name) for name in group}
        for key in keys:
            groups.setdefault(key, set()).update(keys)
    return {key: frozenset(values) for key, values in groups.items()}


NICKNAME_GROUPS: dict[str, frozenset[str]] = _build()
# For the labelled benchmark: a canonical name and its typical short forms.
SHORT_FORMS: dict[str, tuple[str, ...]] = {group[0]: group[1:] for group in _GROUPS}


def same_person_name(a: str, b: str) -> bool:
    """True when two name keys are variants of one first name (Hans / Johannes)."""
    return b in NICKNAME_GROUPS.get(a, frozenset())
