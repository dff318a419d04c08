"""Risk levels and topics from the English trigger list, family by family.

Every message here was written for this test (none comes from the corpus), in the
words people use with helplines: a level too low is the worst mistake, so each family
is checked for its level and for who is in danger (the writer, someone else, or the
writer at the hands of another person). Hard negatives (idioms, safe contexts,
ordinary talk of medicine and injuries, clear denials) must stay quiet, and a denial
with doubt in it must not.
"""

from __future__ import annotations

import pytest

from bot_engine.detection import detector_for
from bot_engine.triggers import Assessment
from bot_engine.types import RiskLevel, RiskTopic, TriggerMatch


def rules(text: str) -> Assessment:
    """What the English trigger list (with every installed locale) finds, without the
    statistical model that runs under it: this file tests the list."""
    return detector_for("en").rules(text)


def detect(text: str) -> TriggerMatch | None:
    return rules(text).match


IMMINENT, HIGH, CONCERN = RiskLevel.IMMINENT, RiskLevel.HIGH, RiskLevel.CONCERN
SUICIDE, SELF_HARM = RiskTopic.SUICIDE, RiskTopic.SELF_HARM
ABUSE, SOMEONE = RiskTopic.ABUSE, RiskTopic.SOMEONE_ELSE

CASES: list[tuple[str, RiskLevel, RiskTopic]] = [
    # has taken something
    ("i've just swallowed 25 of my sertraline", IMMINENT, SUICIDE),
    ("took about 40 co-codamol twenty minutes ago", IMMINENT, SUICIDE),
    ("downed a whole bottle of my nan's morphine", IMMINENT, SUICIDE),
    ("i took all of my antidepressants at once", IMMINENT, SUICIDE),
    ("took a handful of sleeping pills and a bottle of wine", IMMINENT, SUICIDE),
    ("i took double my dose of quetiapine on purpose", IMMINENT, SUICIDE),
    ("i overdosed an hour ago and i'm scared", IMMINENT, SUICIDE),
    ("i drank some bleach", IMMINENT, SUICIDE),
    ("took every pill i could find", IMMINENT, SUICIDE),
    ("i just od'd on my meds", IMMINENT, SUICIDE),
    ("just done a massive overdose", IMMINENT, SUICIDE),
    ("i've already taken them, it's done", IMMINENT, SUICIDE),
    ("i've been taking pills all night and i can't stop", IMMINENT, SUICIDE),
    # at the place, with the means ready
    ("i'm standing on the edge of the cliff", IMMINENT, SUICIDE),
    ("sat on the bridge railings right now", IMMINENT, SUICIDE),
    ("at the station waiting for the fast train to come through", IMMINENT, SUICIDE),
    ("in the car with the engine running and the garage door shut", IMMINENT, SUICIDE),
    ("i've walked into the sea up to my waist", IMMINENT, SUICIDE),
    ("i'm outside on the balcony ledge, 12th floor", IMMINENT, SUICIDE),
    ("i've put the rope around my neck", IMMINENT, SUICIDE),
    ("noose is tied to the banister", IMMINENT, SUICIDE),
    ("i've tied a scarf to the door handle", IMMINENT, SUICIDE),
    # acting now, last messages
    ("this is the last message i'll ever send", IMMINENT, SUICIDE),
    ("when you read this i'll be gone", IMMINENT, SUICIDE),
    ("i'm going to do it in the next few minutes", IMMINENT, SUICIDE),
    ("blade to my wrist right now", IMMINENT, SUICIDE),
    ("about to take all my tablets", IMMINENT, SUICIDE),
    ("goodbye world", IMMINENT, SUICIDE),
    ("i just swallowed the whole bottle", IMMINENT, SUICIDE),
    ("standing on the chair with the belt", IMMINENT, SUICIDE),
    # bleeding that will not stop
    ("i cut too deep and it won't stop bleeding", IMMINENT, SELF_HARM),
    ("i've lost a lot of blood and feel weak", IMMINENT, SELF_HARM),
    ("the cut is really deep and bleeding heavily", IMMINENT, SELF_HARM),
    # danger from another person now
    ("he's hitting me right now please help", IMMINENT, ABUSE),
    ("my partner is trying to break the door down", IMMINENT, ABUSE),
    ("i'm hiding in the bathroom from my boyfriend", IMMINENT, ABUSE),
    ("my stepdad is hitting my little brother right now", IMMINENT, ABUSE),
    ("my ex is here and i'm scared for my life", IMMINENT, ABUSE),
    ("i've just been attacked and i'm hiding", IMMINENT, ABUSE),
    # someone else, now
    ("my friend has taken an overdose and won't tell anyone", IMMINENT, SOMEONE),
    ("my son is on the roof threatening to jump", IMMINENT, SOMEONE),
    ("my mate texted me goodbye and isn't answering his phone", IMMINENT, SOMEONE),
    ("my brother has just cut his wrists", IMMINENT, SOMEONE),
    ("my mate is about to jump off the bridge", IMMINENT, SOMEONE),
    # intent
    ("i'm going to end my life this weekend", HIGH, SUICIDE),
    ("i've decided to kill myself", HIGH, SUICIDE),
    ("i'm gonna off myself tonight", HIGH, SUICIDE),
    ("i'm ready to die", HIGH, SUICIDE),
    ("i'm not going to be here much longer", HIGH, SUICIDE),
    ("planning to end things this week", HIGH, SUICIDE),
    ("going to delete myself tonight", HIGH, SUICIDE),
    ("you won't have to worry about me much longer", HIGH, SUICIDE),
    ("i'm going to rope tonight", HIGH, SUICIDE),
    # plan, method, means
    ("how many paracetamol does it take to die", HIGH, SUICIDE),
    ("what's the lethal dose of amitriptyline", HIGH, SUICIDE),
    ("is 50 paracetamol enough to die", HIGH, SUICIDE),
    ("i've worked out how many pills i need", HIGH, SUICIDE),
    ("i know which bridge i'll jump from", HIGH, SUICIDE),
    ("i bought a rope today", HIGH, SUICIDE),
    ("i bought a hose for the car", HIGH, SUICIDE),
    ("i'm going to shoot myself", HIGH, SUICIDE),
    ("i've set the date", HIGH, SUICIDE),
    ("is hanging painful", HIGH, SUICIDE),
    ("friday is when i'll do it", HIGH, SUICIDE),
    ("i cant see myself being alive by christmas", HIGH, SUICIDE),
    ("i've been stockpiling my antidepressants", HIGH, SUICIDE),
    ("i've got 3 months of pills saved up", HIGH, SUICIDE),
    # goodbye behaviour
    ("i've written letters to my family", HIGH, SUICIDE),
    ("i've been giving my things away", HIGH, SUICIDE),
    ("i wrote my will today", HIGH, SUICIDE),
    ("i've said goodbye to my dog", HIGH, SUICIDE),
    ("can you make sure my parents know i loved them", HIGH, SUICIDE),
    # a past attempt with present intent
    ("i tried to kill myself last year and i'm going to try again", HIGH, SUICIDE),
    ("i overdosed before and this time i'll take more", HIGH, SUICIDE),
    ("i survived last time but i won't this time", HIGH, SUICIDE),
    ("i overdosed last year and i still want to die", HIGH, SUICIDE),
    # ongoing danger from another person
    ("my husband hits me", HIGH, ABUSE),
    ("my boyfriend won't let me see my friends and checks my phone", HIGH, ABUSE),
    ("my partner threatens to kill me if i leave", HIGH, ABUSE),
    ("someone is blackmailing me with my nudes", HIGH, ABUSE),
    ("my parents hit me with a belt", HIGH, ABUSE),
    ("i'm being sexually abused by my step brother", HIGH, ABUSE),
    ("he isolates me from my friends and family", HIGH, ABUSE),
    ("he says he'll kill himself if i leave him", HIGH, ABUSE),
    ("a man online keeps asking me for pics", HIGH, ABUSE),
    # someone else's plan
    ("my friend told me she's planning to kill herself", HIGH, SOMEONE),
    ("my girlfriend has been stockpiling her pills", HIGH, SOMEONE),
    ("my daughter told me she has a plan to die", HIGH, SOMEONE),
    ("my son wrote a suicide note", HIGH, SOMEONE),
    # thoughts of death, hopelessness, negation that must not silence
    ("i wish i wasn't here", CONCERN, SUICIDE),
    ("sometimes i wish i could just not wake up", CONCERN, SUICIDE),
    ("i don't see the point in anything anymore", CONCERN, SUICIDE),
    ("life isn't worth it anymore", CONCERN, SUICIDE),
    ("i don't think i can go on", CONCERN, SUICIDE),
    ("no one would care if i disappeared", CONCERN, SUICIDE),
    ("i'm not worth anything to anyone", CONCERN, SUICIDE),
    ("nothing will ever get better", CONCERN, SUICIDE),
    ("i can't see a future", CONCERN, SUICIDE),
    ("i feel like ending it", CONCERN, SUICIDE),
    ("i'm scared of what i'll do tonight", CONCERN, SUICIDE),
    ("i hate myself so much", CONCERN, SUICIDE),
    ("i don't want to be a burden anymore", CONCERN, SUICIDE),
    ("nothing matters anymore", CONCERN, SUICIDE),
    ("would anyone even care if i died", CONCERN, SUICIDE),
    ("i dnt want 2 be alive", CONCERN, SUICIDE),
    ("i'm not suicidal, i just don't see any reason to keep going", CONCERN, SUICIDE),
    # self-harm by many methods, urges, relapse
    ("i burnt myself with a lighter last night", CONCERN, SELF_HARM),
    ("i scratch my arms until they bleed", CONCERN, SELF_HARM),
    ("i hit my head against things when i'm stressed", CONCERN, SELF_HARM),
    ("i've been pulling my hair out", CONCERN, SELF_HARM),
    ("i slashed my arm", CONCERN, SELF_HARM),
    ("i've been burning my arms", CONCERN, SELF_HARM),
    ("i've relapsed after 4 months clean", CONCERN, SELF_HARM),
    ("i was 100 days clean but i slipped up last night", CONCERN, SELF_HARM),
    ("the urge to self harm is really strong", CONCERN, SELF_HARM),
    ("my arms are covered in cuts", CONCERN, SELF_HARM),
    ("cut to beans last night", CONCERN, SELF_HARM),
    ("cutting is the only thing that helps", CONCERN, SELF_HARM),
    # someone else, worrying
    ("my friend self harms and i don't know how to help", CONCERN, SOMEONE),
    ("my girlfriend told me she feels suicidal", CONCERN, SOMEONE),
    ("i'm worried my mum is suicidal", CONCERN, SOMEONE),
    ("i'm worried my friend is going to hurt herself", CONCERN, SOMEONE),
    # past abuse
    ("i was sexually abused as a kid", CONCERN, ABUSE),
    ("my stepdad abused me when i was little", CONCERN, ABUSE),
    ("i grew up with domestic violence", CONCERN, ABUSE),
]


@pytest.mark.parametrize(("text", "level", "topic"), CASES, ids=[c[0][:40] for c in CASES])
def test_level_and_topic(text: str, level: RiskLevel, topic: RiskTopic) -> None:
    match = detect(text)
    assert match is not None and match.kind == "crisis", text
    assert (match.level, match.topic) == (level, topic), (text, match.rule, match.matched)


QUIET = [
    # idioms, games, food, media
    "i could kill for a coffee",
    "this exam is going to be the death of me",
    "my boss will kill me if i'm late again",
    "i'm dying to know what happens next",
    "i'm so tired i could sleep forever lol",
    "i overdosed on netflix this weekend",
    "i'm going to jump in the shower",
    "going to cut back on coffee",
    "my brother hits me up on snapchat",
    "the killers are playing tonight",
    "my friend's band is called suicide kings",
    "i keep dying on this level",
    "i'm going to rope my brother into helping me move",
    "my cat kicked the bucket of water over",
    "i'm thinking about overdosing on sugar this christmas lol",
    "my nose won't stop bleeding",
    "i relapsed on my diet",
    "my psychology lecture was about suicide risk factors",
    "i'm a teacher and worried about how to spot self harm",
    "burnt my arm on the oven tray",
    "my cat scratched my arm",
    "my dad overdosed years ago and i still think about it",
    "i'll jump off that bridge when i come to it",
    "i won't be here next week, i'm on holiday",
    "i'm at the bridge, where are you",
    "playing cluedo, it was colonel mustard in the library with the rope",
    "my friend asked me for photos of the wedding",
    "she's coming for me at six to take me to dinner",
    "i told her i loved her and she said it back",
    "my dad beat me at chess again",
    # safe contexts
    "i'm doing a sponsored walk for suicide prevention",
    "what are the warning signs of suicide",
    "how can i support someone who is suicidal",
    "i watched a documentary about suicide",
    "how do i talk to my kids about suicide",
    "we learned about self harm in pshe today",
    "i'm a nurse and i deal with overdoses at work",
    "i used to self harm but i've been clean for three years and i'm doing great",
    # ordinary medicine, injuries, places, arrangements
    "took my tablets with breakfast",
    "my nan takes loads of tablets for her heart",
    "the doctor put me on 50mg of sertraline",
    "i cut myself on a can lid",
    "i cut my hair short",
    "my cat scratches the sofa all the time",
    "i'm at the bridge waiting for my friend",
    "my brother is on the roof fixing the aerial",
    "how do i make a will",
    "thanks for everything, bye!",
    "i'm ready to go home now",
    # clear denials
    "i'm not suicidal, just really stressed with work",
    "no thoughts of suicide, just feeling lonely",
    "i don't self harm, i just get really angry",
]


@pytest.mark.parametrize("text", QUIET)
def test_ordinary_messages_stay_quiet(text: str) -> None:
    match = detect(text)
    assert match is None or match.kind != "crisis", (text, match)


@pytest.mark.parametrize(
    "text",
    [
        "i'm not suicidal, just stressed about money",
        "no, i would never hurt myself, i just needed to vent",
        "i don't want to die or anything, i'm just fed up",
        "no, i've never self harmed",
        "i don't want to hurt myself, i want to feel better",
    ],
)
def test_a_clear_denial_is_reported_not_escalated(text: str) -> None:
    found = rules(text)
    assert found.crisis is None
    assert found.denied


@pytest.mark.parametrize(
    "text",
    [
        "i'm not suicidal but i don't know how much longer i can keep going",
        "i'm not sure i won't cut tonight",
        "i'm not suicidal, i just don't care if i live or die",
        "not suicidal",
        "never hurt myself",
        "i said i'm fine but i've got the tablets ready",
    ],
)
def test_doubt_or_danger_beside_a_denial_is_a_crisis(text: str) -> None:
    match = detect(text)
    assert match is not None and match.kind == "crisis", text


@pytest.mark.parametrize(
    ("text", "quote"),
    [
        ("I Took 30 PARACETAMOL!!", "Took 30 PARACETAMOL"),
        ("he's hitting me right now", "hitting me right now"),
        ("Ive got the rope round my neck", "rope round my neck"),
    ],
)
def test_evidence_is_quoted_in_the_persons_own_words(text: str, quote: str) -> None:
    match = detect(text)
    assert match is not None
    assert quote in match.matched or match.matched in quote, match.matched
