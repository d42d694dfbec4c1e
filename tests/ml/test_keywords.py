"""The unsupervised keyword extractor: verbatim words and phrases, no stop words, no repeats."""

from __future__ import annotations

from ml.keywords import STOPWORDS, KeywordExtractor, candidates
from ml.validate import occurs_as_words

CORPUS = [
    "Gatlampan på Storgatan 14 är släckt igen.",
    "Soptunnan blev inte tömd på Björkvägen, det luktar.",
    "Det är fel hållplats för skolskjutsen, barnen fryser.",
    "Skolskjutsen släppte av barnen vid fel hållplats igen.",
    "Vattenläcka på Kölnavägen, det forsar vatten ur asfalten.",
]


def test_addresses_and_recurring_phrases_are_candidates():
    found = candidates("Lampan vid Storgatan 14 är trasig, fel hållplats")
    assert "Storgatan 14" in found
    assert "fel hållplats" in found
    assert "är trasig" not in found  # "är" is a stop word
    assert "Lampan" in found


def test_keywords_are_verbatim_and_not_stop_words():
    extractor = KeywordExtractor().fit(CORPUS)
    text = "Hej! Gatlampan utanför Storgatan 14 har varit släckt i två veckor och det är mörkt."
    keywords = extractor.extract(text)
    assert 2 <= len(keywords) <= extractor.max_keywords
    assert all(occurs_as_words(k, text) for k in keywords)
    assert not {k.casefold() for k in keywords} & STOPWORDS
    assert "Storgatan 14" in keywords


def test_rare_words_outrank_common_ones():
    extractor = KeywordExtractor(max_keywords=1).fit(CORPUS + ["barnen hittade"] * 10)
    assert extractor.extract("barnen hittade en sprutspets") == ["sprutspets"]


def test_a_word_inside_a_chosen_phrase_is_not_repeated():
    extractor = KeywordExtractor().fit(CORPUS)
    keywords = [k.casefold() for k in extractor.extract("Lampan vid Storgatan 14 är trasig")]
    assert "storgatan 14" in keywords
    assert "storgatan" not in keywords
    repeated = [k.casefold() for k in extractor.extract("Storgatan 14: lampan. Storgatan igen")]
    assert ("storgatan" in repeated) != ("storgatan 14" in repeated)


def test_the_state_round_trips():
    extractor = KeywordExtractor().fit(CORPUS)
    restored = KeywordExtractor.from_dict(extractor.to_dict())
    text = CORPUS[2]
    assert restored.extract(text) == extractor.extract(text)
