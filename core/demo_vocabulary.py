"""Word lists behind the demo data: German cities with postcode ranges, company words, job titles.

Kept apart from the generator so the generator reads as logic. Postcode ranges and dialling
codes are the real ones of each city (every number in a range need not exist), weights
roughly follow the cities' economic size.
"""

from __future__ import annotations

from typing import NamedTuple


class City(NamedTuple):
    name: str
    postcode_from: int
    postcode_to: int
    dialling_code: str
    weight: int


CITIES: tuple[City, ...] = (
    City("Berlin", 10115, 14199, "30", 60),
    City("Hamburg", 20095, 22769, "40", 40),
    City("München", 80331, 81929, "89", 40),
    City("Köln", 50667, 51149, "221", 25),
    City("Frankfurt am Main", 60306, 60599, "69", 25),
    City("Stuttgart", 70173, 70629, "711", 22),
    City("Düsseldorf", 40210, 40629, "211", 18),
    City("Leipzig", 4103, 4357, "341", 12),
    City("Dortmund", 44135, 44388, "231", 12),
    City("Essen", 45127, 45359, "201", 12),
    City("Bremen", 28195, 28779, "421", 11),
    City("Dresden", 1067, 1328, "351", 11),
    City("Hannover", 30159, 30659, "511", 12),
    City("Nürnberg", 90402, 90491, "911", 12),
    City("Duisburg", 47051, 47279, "203", 8),
    City("Bochum", 44787, 44894, "234", 7),
    City("Wuppertal", 42103, 42399, "202", 7),
    City("Bielefeld", 33602, 33739, "521", 7),
    City("Bonn", 53111, 53229, "228", 6),
    City("Münster", 48143, 48167, "251", 6),
    City("Karlsruhe", 76131, 76229, "721", 7),
    City("Mannheim", 68159, 68309, "621", 7),
    City("Augsburg", 86150, 86199, "821", 6),
    City("Wiesbaden", 65183, 65207, "611", 5),
    City("Mönchengladbach", 41061, 41239, "2161", 4),
    City("Braunschweig", 38100, 38126, "531", 5),
    City("Chemnitz", 9111, 9247, "371", 4),
    City("Kiel", 24103, 24159, "431", 4),
    City("Aachen", 52062, 52080, "241", 5),
    City("Halle (Saale)", 6108, 6132, "345", 3),
    City("Magdeburg", 39104, 39130, "391", 3),
    City("Freiburg im Breisgau", 79098, 79117, "761", 4),
    City("Krefeld", 47798, 47839, "2151", 3),
    City("Lübeck", 23552, 23570, "451", 3),
    City("Mainz", 55116, 55131, "6131", 4),
    City("Erfurt", 99084, 99099, "361", 3),
    City("Rostock", 18055, 18147, "381", 3),
    City("Kassel", 34117, 34134, "561", 3),
    City("Saarbrücken", 66111, 66133, "681", 3),
    City("Potsdam", 14467, 14482, "331", 3),
    City("Ludwigshafen am Rhein", 67059, 67071, "621", 3),
    City("Oldenburg", 26121, 26135, "441", 3),
    City("Osnabrück", 49074, 49090, "541", 3),
    City("Heidelberg", 69115, 69126, "6221", 3),
    City("Darmstadt", 64283, 64297, "6151", 3),
    City("Regensburg", 93047, 93059, "941", 3),
    City("Ingolstadt", 85049, 85057, "841", 3),
    City("Würzburg", 97070, 97084, "931", 3),
    City("Wolfsburg", 38440, 38448, "5361", 3),
    City("Ulm", 89073, 89081, "731", 3),
    City("Heilbronn", 74072, 74081, "7131", 3),
    City("Pforzheim", 75172, 75181, "7231", 2),
    City("Göttingen", 37073, 37085, "551", 2),
    City("Reutlingen", 72760, 72770, "7121", 2),
    City("Koblenz", 56068, 56077, "261", 2),
    City("Jena", 7743, 7751, "3641", 2),
    City("Trier", 54290, 54296, "651", 2),
    City("Erlangen", 91052, 91058, "9131", 2),
    City("Siegen", 57072, 57080, "271", 2),
    City("Paderborn", 33098, 33106, "5251", 2),
    City("Gütersloh", 33330, 33335, "5241", 2),
    City("Schweinfurt", 97421, 97424, "9721", 1),
    City("Wetzlar", 35576, 35586, "6441", 1),
    City("Villingen-Schwenningen", 78048, 78056, "7721", 1),
    City("Friedrichshafen", 88045, 88048, "7541", 1),
    City("Rosenheim", 83022, 83026, "8031", 1),
    City("Passau", 94032, 94036, "851", 1),
    City("Bamberg", 96047, 96052, "951", 1),
    City("Bayreuth", 95444, 95448, "921", 1),
    City("Fulda", 36037, 36043, "661", 1),
    City("Lüneburg", 21335, 21339, "4131", 1),
    City("Flensburg", 24937, 24944, "461", 1),
    City("Schwerin", 19053, 19063, "385", 1),
    City("Cottbus", 3042, 3055, "355", 1),
    City("Zwickau", 8056, 8066, "375", 1),
    City("Konstanz", 78462, 78467, "7531", 1),
    City("Landshut", 84028, 84036, "871", 1),
    City("Kempten (Allgäu)", 87435, 87439, "831", 1),
    City("Lüdenscheid", 58507, 58515, "2351", 1),
    City("Hamm", 59063, 59077, "2381", 1),
    City("Neuss", 41460, 41472, "2131", 2),
    City("Ratingen", 40878, 40885, "2102", 1),
    City("Sindelfingen", 71063, 71069, "7031", 1),
    City("Esslingen am Neckar", 73728, 73734, "711", 1),
    City("Ludwigsburg", 71634, 71642, "7141", 1),
    City("Göppingen", 73033, 73037, "7161", 1),
    City("Aalen", 73430, 73434, "7361", 1),
    City("Offenburg", 77652, 77656, "781", 1),
    City("Tuttlingen", 78532, 78532, "7461", 1),
)

COMMON_STREETS = (
    "Hauptstraße",
    "Bahnhofstraße",
    "Industriestraße",
    "Gewerbestraße",
    "Am Gewerbepark",
    "Gutenbergstraße",
    "Robert-Bosch-Straße",
    "Carl-Benz-Straße",
    "Max-Planck-Straße",
    "Siemensstraße",
    "Daimlerstraße",
    "Dieselstraße",
    "Otto-Hahn-Straße",
    "Rudolf-Diesel-Straße",
    "Im Technologiepark",
    "Hafenstraße",
    "Lindenstraße",
    "Schillerstraße",
    "Goethestraße",
    "Friedrichstraße",
    "Kaiserstraße",
    "Marktplatz",
    "Am Hochofen",
    "Werkstraße",
    "Raiffeisenstraße",
    "Zeppelinstraße",
    "Emil-Figge-Straße",
    "Von-Humboldt-Straße",
)

# Second word of a company name, by industry ("Schneider Präzisionstechnik GmbH").
INDUSTRY_WORDS: dict[str, tuple[str, ...]] = {
    "Maschinenbau": (
        "Präzisionstechnik",
        "Maschinenbau",
        "Antriebstechnik",
        "Fördertechnik",
        "Anlagenbau",
        "Werkzeugbau",
    ),
    "Automobilzulieferer": ("Fahrzeugteile", "Automotive", "Kunststofftechnik", "Umformtechnik", "Zerspanung"),
    "Chemie": ("Chemie", "Spezialchemie", "Lacke", "Klebstoffe", "Oberflächentechnik"),
    "Elektrotechnik": ("Elektrotechnik", "Elektronik", "Steuerungstechnik", "Sensorik", "Kabelsysteme"),
    "Handel": ("Handelsgesellschaft", "Großhandel", "Industriebedarf", "Technischer Handel", "Vertrieb"),
    "IT-Dienstleistungen": ("IT-Systeme", "Software", "Informatik", "Datentechnik", "IT-Consulting"),
    "Logistik": ("Logistik", "Spedition", "Transporte", "Lagerlogistik", "Kontraktlogistik"),
    "Lebensmittel": ("Feinkost", "Backwaren", "Lebensmittel", "Molkerei", "Getränke"),
    "Medizintechnik": ("Medizintechnik", "Labortechnik", "Dentaltechnik", "Orthopädietechnik"),
    "Bauwesen": ("Bau", "Hochbau", "Tiefbau", "Haustechnik", "Dachtechnik", "Ingenieurbau"),
    "Energie": ("Energietechnik", "Solartechnik", "Energie", "Windkraft", "Wärmetechnik"),
    "Finanzdienstleistungen": ("Finanzberatung", "Leasing", "Vermögensverwaltung", "Factoring"),
}

# Made-up brand stems for names like "Technova Systeme GmbH".
BRAND_PREFIXES = ("Tech", "Inno", "Pro", "Neo", "Meta", "Opti", "Ultra", "Alpha", "Nova", "Inter", "Multi", "Uni")
BRAND_SUFFIXES = ("tec", "nova", "lux", "tronic", "form", "plan", "mat", "flex", "log", "data", "med", "bau")
BRAND_NOUNS = ("Systeme", "Solutions", "Technik", "Gruppe", "Werke", "Service", "Industrie")

# (male form, female form) – the neutral form is used for "Divers".
JOB_TITLES: tuple[tuple[str, str, str], ...] = (
    ("Geschäftsführer", "Geschäftsführerin", "Geschäftsführung"),
    ("Einkaufsleiter", "Einkaufsleiterin", "Leitung Einkauf"),
    ("Einkäufer", "Einkäuferin", "Einkauf"),
    ("Vertriebsleiter", "Vertriebsleiterin", "Leitung Vertrieb"),
    ("Technischer Leiter", "Technische Leiterin", "Technische Leitung"),
    ("Produktionsleiter", "Produktionsleiterin", "Leitung Produktion"),
    ("IT-Leiter", "IT-Leiterin", "Leitung IT"),
    ("Leiter Qualitätsmanagement", "Leiterin Qualitätsmanagement", "Qualitätsmanagement"),
    ("Projektleiter", "Projektleiterin", "Projektleitung"),
    ("Assistent der Geschäftsführung", "Assistentin der Geschäftsführung", "Assistenz der Geschäftsführung"),
    ("Leiter Marketing", "Leiterin Marketing", "Marketing"),
    ("Kaufmännischer Leiter", "Kaufmännische Leiterin", "Kaufmännische Leitung"),
    ("Sachbearbeiter Buchhaltung", "Sachbearbeiterin Buchhaltung", "Buchhaltung"),
    ("Werksleiter", "Werksleiterin", "Werksleitung"),
    ("Prokurist", "Prokuristin", "Prokura"),
)

MOBILE_PREFIXES = (
    "151",
    "152",
    "157",
    "159",
    "160",
    "162",
    "163",
    "170",
    "171",
    "172",
    "173",
    "175",
    "176",
    "177",
    "178",
    "179",
)

ACCOUNT_NOTES = (
    "Rahmenvertrag läuft bis Ende nächsten Jahres.",
    "Entscheidungen fallen in der Zentrale, Ansprechpartner im Einkauf.",
    "Kunde seit Messe-Kontakt, bevorzugt Termine vor Ort.",
    "Zahlt zuverlässig, Skonto wird genutzt.",
    "Ausschreibungspflichtig ab 50.000 €.",
    "Interesse an Wartungsvertrag signalisiert.",
)

TRANSLITERATION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ı": "i"})
