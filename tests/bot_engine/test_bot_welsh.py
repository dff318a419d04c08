"""Welsh crisis and request detection (bot_engine/scripts/triggers/cy.toml).

Initial mutations of listed words, the risk level and topic of each kind of message,
denials, idioms and safe contexts that stay quiet, Welsh recognised in a session of
any language, and English ordinary text that the Welsh lists leave alone. The
messages here are written for these tests, in the words people use, not taken from
the corpus.
"""

from __future__ import annotations

import time

import pytest

from bot_engine import RiskLevel, RiskTopic, detect
from bot_engine.detection import assess, detector_for, packaged_trigger_sets
from bot_engine.triggers import TriggerSet

IMMINENT = RiskLevel.IMMINENT
HIGH = RiskLevel.HIGH
CONCERN = RiskLevel.CONCERN
SUICIDE = RiskTopic.SUICIDE
SELF_HARM = RiskTopic.SELF_HARM
ABUSE = RiskTopic.ABUSE
SOMEONE = RiskTopic.SOMEONE_ELSE


def welsh_only() -> TriggerSet:
    """The Welsh lists on their own, as every non-Welsh session runs them."""
    others = packaged_trigger_sets()["en"].others
    assert len(others) == 1
    return others[0]


# ------------------------------------------------------------------ mutations

MUTATED = [
    # soft mutation after "i", "am", "ei" (his), "dy"
    "dw i'n bwriadu ladd fy hun",
    "Dw i am farw",
    "mae o wedi cymryd ei dabledi i gyd",
    "ga i siarad â berson",
    # nasal mutation after "fy", and "fy" dropped as it is in speech
    "rhoi diwedd ar fy mywyd",
    "dw i wedi blino ar mywyd i",
    "wedi llyncu fy nhabledi i gyd",
    "dw i'n torri fy nghoesau",
    "Ydy fy nghwnselydd ar gael?",
    # aspirate mutation after "â", "ei" (her), numbers
    "hoffwn i siarad â chwnselydd",
    "mae hi newydd lyncu ei thabledi i gyd",
    "prynais dri phecyn o barasetamol",
    # h before a vowel after "ei" (her)
    "mae hi wedi torri ei harddyrnau",
    # radical forms, as learners write them
    "dw i isio lladd fy hun",
    "cymerais i fy tabledi i gyd",
]


@pytest.mark.parametrize("text", MUTATED)
def test_every_form_of_a_listed_word_is_recognised(text: str) -> None:
    match = detect(text, "cy")
    assert match is not None, text


def test_a_radical_and_its_mutated_forms_give_the_same_rule() -> None:
    forms = ["lladd fy hun", "i ladd fy hun", "am ladd fy hun"]
    rules = {getattr(detect(text, "cy"), "rule", None) for text in forms}
    assert rules == {"crisis:cy:suicide:intent"}
    tablets = ["30 o dabledi", "30 o tabledi", "llwyth o nhabledi", "llwyth o thabledi"]
    for text in tablets:
        match = detect(text, "cy")
        assert match is not None and match.kind == "crisis", text


# ------------------------------------------------------------------ levels and topics

CASES: list[tuple[str, RiskLevel, RiskTopic]] = [
    # has acted, or is at the place
    ("dw i newydd lyncu potel gyfan o barasetamol", IMMINENT, SUICIDE),
    ("Cymerais i orddos awr yn ôl", IMMINENT, SUICIDE),
    ("wedi yfed cannydd", IMMINENT, SUICIDE),
    ("dwi'n sefyll ar ben y clogwyn rŵan", IMMINENT, SUICIDE),
    ("fi ar y cledrau, sori", IMMINENT, SUICIDE),
    ("ma'r rhaff wedi'i chlymu yn y garej", IMMINENT, SUICIDE),
    ("mae gwaed ym mhobman a dw i'n methu stopio'r gwaedu", IMMINENT, SELF_HARM),
    ("newydd dorri fy hun yn rhy ddwfn", IMMINENT, SELF_HARM),
    ("mae e'n fy nghicio i nawr, plis helpwch", IMMINENT, ABUSE),
    ("dw i'n cuddio yn y llofft, mae e'n trio torri'r drws i lawr", IMMINENT, ABUSE),
    ("roedd ei ddwylo am fy ngwddf neithiwr", IMMINENT, ABUSE),
    ("mae fy chwaer wedi cymryd ei holl dabledi", IMMINENT, SOMEONE),
    # intent, plan, means, goodbye, ongoing abuse
    ("Dw i wedi penderfynu lladd fy hun dydd Sul", HIGH, SUICIDE),
    ("dw i wedi bod yn hel fy nhabledi ers misoedd", HIGH, SUICIDE),
    ("mae gen i gynllun i roi diwedd ar bopeth", HIGH, SUICIDE),
    ("Dw i'n mynd i neidio o flaen y trên fory", HIGH, SUICIDE),
    ("dw i wedi ysgrifennu llythyr ffarwel i'r plant", HIGH, SUICIDE),
    ("dwi wedi rhoi fy mhethau i gyd i ffwrdd", HIGH, SUICIDE),
    ("wnes i drio lladd fy hun llynedd a dwi am drio eto", HIGH, SUICIDE),
    ("dw i'n methu cadw fy hun yn ddiogel", HIGH, SUICIDE),
    ("dw i am dorri fy hun eto heno", HIGH, SELF_HARM),
    ("mae fy mhartner yn fy mwrw i", HIGH, ABUSE),
    ("mae gen i ofn mynd adra", HIGH, ABUSE),
    ("mae fy nghariad yn bygwth fy lladd i", HIGH, ABUSE),
    ("mae fy mrawd yn dweud ei fod e am ladd ei hun", HIGH, SOMEONE),
    # thoughts, urges, recent self-harm, hopelessness (with negation)
    ("dw i'n meddwl am hunanladdiad drwy'r amser", CONCERN, SUICIDE),
    ("weithiau dw i jyst isio marw", CONCERN, SUICIDE),
    ("dim rheswm i fyw", CONCERN, SUICIDE),
    ("does neb yn poeni", CONCERN, SUICIDE),
    ("sa i'n gweld pwynt", CONCERN, SUICIDE),
    ("Dw i ddim eisiau byw fel hyn rhagor", CONCERN, SUICIDE),
    ("fyddai neb yn sylwi taswn i'n mynd", CONCERN, SUICIDE),
    ("dw i'n faich ar fy nheulu", CONCERN, SUICIDE),
    ("dw i'n ysu i frifo fy hun", CONCERN, SELF_HARM),
    ("llosgais i fy hun gyda sigarét neithiwr", CONCERN, SELF_HARM),
    ("mae e'n gweiddi arna i drwy'r amser ac yn rheoli fy arian", CONCERN, ABUSE),
    ("mae fy mab yn torri ei hun", CONCERN, SOMEONE),
    ("dwi am neud amdana fy hun", HIGH, SUICIDE),
    ("dw i wedi bod yn gwglo sut i farw", HIGH, SUICIDE),
    ("gobeithio ga i ddamwain", CONCERN, SUICIDE),
    ("dw i wedi cloi fy hun yn y tŷ bach, mae o'n gweiddi tu allan", IMMINENT, ABUSE),
]


@pytest.mark.parametrize(("text", "level", "topic"), CASES, ids=[c[0][:40] for c in CASES])
def test_welsh_crisis_has_the_right_level_and_topic(
    text: str, level: RiskLevel, topic: RiskTopic
) -> None:
    match = detect(text, "cy")
    assert match is not None, text
    assert match.kind == "crisis"
    assert match.rule.startswith("crisis:cy:")
    assert (match.level, match.topic) == (level, topic)
    assert match.matched  # the person's own words, as evidence


def test_a_past_attempt_alone_is_concern_and_with_present_intent_is_high() -> None:
    alone = detect("triais i ladd fy hun pan o'n i'n bymtheg", "cy")
    assert alone is not None and alone.level == CONCERN
    both = detect("triais i ladd fy hun pan o'n i'n bymtheg a dw i isio marw eto", "cy")
    assert both is not None and both.level == HIGH


def test_the_evidence_is_quoted_as_typed() -> None:
    match = detect("Dw i wedi blino ar FY MYWYD", "cy")
    assert match is not None
    assert match.matched == "wedi blino ar FY MYWYD"


# ------------------------------------------------------------------ requests

REQUESTS = [
    "ga i siarad â pherson go iawn?",
    "wyt ti'n bot?",
    "Ai peiriant wyt ti?",
    "dw i isio siarad efo rhywun plis",
    "rho fi drwodd i gwnselydd",
    "Oes rhywun ar gael i siarad?",
    "allai rhywun fy ffonio i?",
    "hoffwn i sgwrs gyda gwirfoddolwr",
]


@pytest.mark.parametrize("text", REQUESTS)
def test_welsh_requests_for_a_person(text: str) -> None:
    match = detect(text, "cy")
    assert match is not None, text
    assert match.kind == "request"
    assert match.rule == "request:cy:typed"


def test_a_refused_request_is_not_a_request() -> None:
    assert detect("dw i ddim isio siarad efo cwnselydd", "cy") is None
    assert detect("sa i moyn siarad â pherson", "cy") is None


# ------------------------------------------------------------------ quiet

QUIET = [
    # denials
    "dw i ddim yn mynd i ladd fy hun, paid â phoeni",
    "Sa i'n hunanladdol o gwbl, jyst wedi blino",
    "dw i erioed wedi brifo fy hun",
    "dim meddyliau am hunanladdiad, dim ond stres gwaith",
    "dw i'n hollol saff, diolch",
    # idioms
    "mae'r gwres 'ma'n fy lladd i",
    "bu bron i mi farw o chwerthin",
    "dw i bron â marw isio bwyd",
    "lladd amser cyn y trên",
    "mae'r ffilm 'na wedi torri fy nghalon",
    # safe contexts and titles
    "dw i'n gwneud traethawd am atal hunanladdiad",
    "hyfforddiant ymwybyddiaeth hunanladdiad i athrawon",
    "pwy sy'n marw yn y bennod ola?",
    "Mae pawb yn marw ar y diwedd yn y nofel",
    # everyday talk about medicines, injuries, bridges, ropes
    "cymerais i ddwy dabled at y cur pen",
    "oes angen presgripsiwn i gael mwy o dabledi?",
    "wedi torri fy mraich yn chwarae pêl-droed",
    "wedi llosgi fy hun ar y popty, dim byd mawr",
    "prynais raff ddringo newydd",
    "dw i ar y bont yn y traffig, bydda i'n hwyr",
    "hwyl fawr tan fory",
    "dw i'n byw ar ben fy hun",
    "does neb yn poeni am y tywydd",
    "dim pwynt mynd allan yn y glaw",
    # words with an everyday meaning beside the dangerous one
    "mae fy chwaer wastad yn fy nghuro i ar gwyddbwyll",
    "dw i'n lladd fy hun yn adolygu ar gyfer yr arholiadau",
    "dw i'n cuddio rhag y glaw",
    "ges i brawf gwaed heddiw, roedd lot o waed",
    "mae fy ffôn wedi marw",
    "mae hi'n bygwth glaw",
]


@pytest.mark.parametrize("text", QUIET)
def test_denials_idioms_and_safe_contexts_stay_quiet(text: str) -> None:
    # The lists; the statistical model under them is held to a rate on these phrases
    # in test_bot_model.py.
    assert detector_for("cy").rules(text).match is None, text
    assert detector_for("en").rules(text).match is None, text


def test_a_denial_is_reported_and_doubt_switches_it_off() -> None:
    denied = assess("dw i ddim yn meddwl am ladd fy hun", "cy")
    assert denied.crisis is None and denied.denied
    doubtful = detect("dw i ddim yn meddwl am ladd fy hun, ond weithiau dw i ddim yn siŵr", "cy")
    assert doubtful is not None and doubtful.kind == "crisis"
    not_yet = detect("dw i ddim wedi brifo fy hun eto", "cy")
    assert not_yet is not None and not_yet.topic == SELF_HARM


def test_negation_never_silences_danger() -> None:
    for text in [
        "dw i ddim isio byw",
        "sdim pwynt byw",
        "does neb yn poeni amdana i",
        "dw i ddim yn gallu cadw fy hun yn saff",
        "fydda i ddim yma fory",
        "dw i ddim yn gweld unrhyw reswm i fyw",
    ]:
        match = detect(text, "cy")
        assert match is not None and match.kind == "crisis", text


# ------------------------------------------------------------------ every language


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("dw i newydd gymryd llwyth o dabledi", IMMINENT),
        ("dw i am ladd fy hun heno", HIGH),
        ("isio marw", CONCERN),
        ("mae o'n fy nghuro i rwan", IMMINENT),
    ],
)
def test_welsh_is_recognised_in_an_english_session(text: str, level: RiskLevel) -> None:
    match = detect(text, "en")
    assert match is not None, text
    assert match.kind == "crisis"
    assert match.rule.startswith("crisis:cy:")
    assert match.level == level


def test_a_welsh_request_is_recognised_in_an_english_session() -> None:
    match = detect("ga i siarad efo person go iawn", "en")
    assert match is not None and match.kind == "request"


ENGLISH = [
    "I am so tired today",
    "i have 20 bills to pay this month",
    "my mum is a nurse and works nights",
    "the person at the bus stop was rude",
    "we went to the pier and the harbour in Tenby",
    "i wrote a note for my teacher",
    "he kicked the ball over the roof",
    "i'm studying self harm for my psychology course",
    "you can only buy 32 paracetamol at once in the uk",
    "the film was about a man on a bridge",
    "ham and cheese sandwich please",
    "gwen and dai are coming over later",
]


@pytest.mark.parametrize("text", ENGLISH)
def test_the_welsh_lists_leave_ordinary_english_alone(text: str) -> None:
    found = welsh_only().assess(text)
    assert found.match is None, (text, found.match)


def test_welsh_detection_stays_fast() -> None:
    texts = [case[0] for case in CASES] + QUIET + REQUESTS + ENGLISH
    welsh = welsh_only()
    for text in texts:  # warm the spelling caches
        welsh.assess(text)
    started = time.thread_time()  # CPU time: the tests run beside others on shared cores
    for text in texts:
        welsh.assess(text)
    per_message = (time.thread_time() - started) / len(texts)
    assert per_message < 0.005
