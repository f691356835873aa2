"""The demo generator gives every company a domain of its own (the labelled duplicate benchmark relies on it)."""

from __future__ import annotations

from core.demo import company_domain


def test_first_company_gets_the_plain_name_domain() -> None:
    taken: set[str] = set()
    assert company_domain("Schmidt Präzisionstechnik", "Schmidt Präzisionstechnik GmbH", "Köln", taken) == (
        "schmidt-praezisionstechnik.de"
    )
    assert taken == {"schmidt-praezisionstechnik.de"}


def test_namesakes_get_distinct_domains_from_their_distinguishing_words() -> None:
    taken: set[str] = set()
    domains = [
        company_domain("Müller Bau", "Müller Bau GmbH", "Köln", taken),
        company_domain("Müller Bau", "Müller Bau GmbH", "München", taken),
        company_domain("Müller Bau", "Müller Bau AG", "München", taken),
        company_domain("Müller Bau", "Müller Bau AG", "München", taken),
        company_domain("Müller Bau", "Müller Bau AG", "München", taken),
    ]
    assert domains == [
        "mueller-bau.de",
        "mueller-bau-muenchen.de",
        "mueller-bau-ag.de",
        "mueller-bau-2.de",
        "mueller-bau-3.de",
    ]
    assert len(taken) == len(domains)


def test_a_city_already_in_the_name_is_not_repeated() -> None:
    taken: set[str] = set()
    first = company_domain("Maschinenbau Frankfurt", "Maschinenbau Frankfurt GmbH", "Frankfurt am Main", taken)
    second = company_domain("Maschinenbau Frankfurt", "Maschinenbau Frankfurt GmbH", "Frankfurt am Main", taken)
    third = company_domain("Maschinenbau Frankfurt", "Maschinenbau Frankfurt GmbH", "Frankfurt am Main", taken)
    assert (first, second, third) == (
        "maschinenbau-frankfurt.de",
        "maschinenbau-frankfurt-gmbh.de",
        "maschinenbau-frankfurt-2.de",
    )


def test_same_inputs_give_the_same_domains() -> None:
    names = [("Alpha Data", "Alpha Data GmbH", "Berlin")] * 4 + [("Kranz", "Kranz", "Bonn")] * 3

    def run() -> list[str]:
        taken: set[str] = set()
        return [company_domain(base, name, city, taken) for base, name, city in names]

    assert run() == run()
    assert len(set(run())) == len(names)
