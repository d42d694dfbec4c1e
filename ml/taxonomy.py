"""The label taxonomy of taxonomy.md, defined once: codes, Swedish display names and limits.

Everything else (validator, models, Django app) imports these constants.
"""

from __future__ import annotations

DEPARTMENTS: dict[str, str] = {
    "gata_trafik": "Gata och trafik",
    "belysning": "Gatubelysning",
    "vinter": "Vinterväghållning",
    "park_natur": "Park och natur",
    "avfall": "Avfall och återvinning",
    "vatten_avlopp": "Vatten och avlopp",
    "klotter": "Klotter och skadegörelse",
    "miljo_halsa": "Miljö och hälsoskydd",
    "bygg": "Bygg och stadsbyggnad",
    "skola": "Förskola och skola",
    "omsorg": "Vård och omsorg",
    "socialtjanst": "Individ- och familjeomsorg",
    "kultur_fritid": "Kultur och fritid",
    "kommun_ovrigt": "Kommunövergripande",
}

CASE_TYPES: dict[str, str] = {
    "felanmalan": "Felanmälan",
    "klagomal": "Klagomål",
    "synpunkt": "Synpunkt/förslag",
    "fraga": "Fråga",
    "berom": "Beröm",
}

SENTIMENTS: dict[str, str] = {
    "negativ": "Negativ",
    "neutral": "Neutral",
    "positiv": "Positiv",
}

SEVERITIES: dict[int, str] = {
    1: "Låg",
    2: "Normal",
    3: "Förhöjd",
    4: "Hög",
    5: "Akut",
}
SEVERITY_MIN = min(SEVERITIES)
SEVERITY_MAX = max(SEVERITIES)

TAGS: dict[str, str] = {
    "trafiksakerhet": "Trafiksäkerhet",
    "barn": "Barn",
    "tillganglighet": "Tillgänglighet",
    "skaderisk": "Skaderisk",
    "egendomsskada": "Egendomsskada",
    "miljo": "Miljö",
    "aterkommande": "Återkommande",
    "bemotande": "Bemötande",
    "ekonomi": "Ekonomi",
    "trygghet": "Trygghet",
    "djur": "Djur",
}

CHANNELS: dict[str, str] = {
    "web": "Webbformulär",
    "email": "E-post",
    "api": "API",
}

KEYWORDS_MIN = 2
KEYWORDS_MAX = 6

# The single-label classification outputs, in a fixed order.
SINGLE_LABEL_FIELDS: dict[str, dict[str, str]] = {
    "department": DEPARTMENTS,
    "case_type": CASE_TYPES,
    "sentiment": SENTIMENTS,
}

REQUIRED_FIELDS = (
    "id",
    "channel",
    "subject",
    "text",
    "department",
    "case_type",
    "sentiment",
    "severity",
    "tags",
    "keywords",
)
