"""The word lists behind the planted miscues of ``bench/miscues.py``.

Which words may be substituted and by what (``MISREADINGS``, then ``COMMON_WORDS``
filtered by spelling distance, pronunciation and ``HOMOPHONES``; word forms for
morphology slips come from lemminflect, with the ``MORPHOLOGY_SUFFIXES``), which are
never touched (``NO_SUBSTITUTION``, ``NUMBER_WORDS``), which small words are skipped
(``FUNCTION_WORDS``) and what is said as an insertion (``INSERT_FUNCTION_WORDS``,
``INSERT_ADVERBS``, together ``INSERT_WORDS``, and the ``REPEAT`` marker). All words
are lower-case.
"""

from __future__ import annotations

#: Plausible misreadings: visually similar real words that do not sound the same as the
#: original (homophones such as their/there would leave no trace in the audio).
MISREADINGS: dict[str, tuple[str, ...]] = {
    "was": ("saw",),
    "saw": ("was",),
    "from": ("form",),
    "form": ("from",),
    "then": ("than",),
    "than": ("that",),
    "there": ("these", "where"),
    "their": ("they",),
    "where": ("when",),
    "were": ("where",),
    "through": ("though", "thought"),
    "though": ("through",),
    "house": ("horse",),
    "houses": ("horses",),
    "quiet": ("quite",),
    "with": ("which",),
    "which": ("while",),
    "while": ("which",),
    "into": ("onto",),
    "onto": ("into",),
    "its": ("his",),
    "has": ("had",),
    "had": ("has",),
    "most": ("must",),
    "part": ("port",),
    "parts": ("ports",),
    "port": ("part",),
    "other": ("outer",),
    "new": ("now",),
    "now": ("new",),
    "became": ("become",),
    "began": ("begun",),
    "came": ("come",),
    "made": ("make",),
    "took": ("look",),
    "lost": ("last",),
    "built": ("build",),
    "known": ("know",),
    "moved": ("loved",),
    "large": ("larger",),
    "larger": ("large",),
    "largest": ("larger",),
    "valley": ("volley",),
    "river": ("rider",),
    "lakes": ("likes",),
    "parks": ("perks",),
    "lie": ("lay",),
    "lay": ("lie",),
    "well": ("wall",),
    "city": ("cite",),
    "state": ("stale",),
    "states": ("stakes",),
    "west": ("best",),
    "western": ("eastern",),
    "eastern": ("western",),
    "north": ("worth",),
    "south": ("mouth",),
    "also": ("alas",),
    "only": ("early",),
    "many": ("may",),
    "more": ("mere",),
    "some": ("same",),
    "same": ("some",),
    "often": ("after",),
    "after": ("often",),
    "when": ("then",),
    "what": ("that",),
    "this": ("these",),
    "these": ("those",),
    "those": ("these",),
    "time": ("tide",),
    "home": ("hope",),
    "high": ("huge",),
    "free": ("tree",),
    "war": ("was",),
    "world": ("word",),
    "word": ("world",),
    "area": ("arena",),
    "areas": ("arenas",),
    "colony": ("colour",),
    "border": ("order",),
    "borders": ("orders",),
    "country": ("county",),
    "county": ("country",),
}

#: Common words for substitutions where ``MISREADINGS`` has none: a replacement must
#: start with the same letter, differ in length by at most one and be within edit
#: distance two of the original.
COMMON_WORDS: tuple[str, ...] = tuple(
    """
able about above across act add after again against age ago air all almost alone along
also always among and animal another answer any appear area arm army around art ask
back bad ball band bank base bear beat became become bed been began begin behind being
best better between big bird black blue board boat body book born both box boy bread
break bring broad brown build built burn busy call came camp can car card care carry
case cat catch cause cell center chain chair change child city class clean clear close
coast cold colour come common cook corn cost could count country course cover cross crowd
cry cut dark day dead deal dear deep did die dinner does dog done door down draw dream
dress drink drive drop dry during each early earth east easy eat edge egg end enough even
ever every eye face fact fair fall family far farm fast father fear feel feet few field
fight fill find fine fire first fish five floor flow flower fly follow food foot force
forest form forward found four free fresh friend from front full game garden gate gave
general get girl give glad glass goes gold gone good got great green ground group grow
guess had half hand hard has hat have head hear heard heart heat heavy held help her
here high hill him his hold hole home hope horse hot hour house how huge hunt idea inch
into iron island its job join jump just keep kept kind king knew know land large last
late laugh lay lead learn least leave left less let letter life light like line list
little live long look lost lot loud love low made main make man many map mark market
mass may mean meant meet men might mile milk mind miss model money month moon more
morning most mother mountain mouth move much must name near need never new next nice
night none noon nor north nose note now number ocean off offer often old once only open
order other out over own page paint pair paper park part party pass past path pay people
perhaps person pick picture piece place plain plan plant play point poor port post pound
power press pretty print pull push put quick quiet quite rain ran range reach read ready
real red rest ride right ring rise river road rock roll room rose round rule run safe
said sail salt same sand sat save saw say school sea seat second see seed seem seen sell
send sense sent set seven shall shape share sharp she ship shop short should show side
sign silver simple since sing sir sit size skin sky sleep slow small smell snow soft soil
some son song soon sort sound south space speak speed spell spend spot spring square
stand star start state station stay step still stone stood stop store story straight
strange street strong study such sugar summer sun sure table tail take talk tall teach
tell ten than that their them then there these they thick thin thing think those though
thought three through throw tie till time tiny told too took top touch toward town track
trade train travel tree trip true try turn under until upon use usual valley very view
visit voice wait walk wall want warm was wash watch water wave way wear weather week well
went were west what wheel when where which while white whole why wide wife wild will wind
window winter wish with without woman wonder wood word work world would write wrong yard
year yellow yes yet young
""".split()
)

#: Frequent function words never chosen for substitution (it would make "the" -> "they"
#: most of the set's substitutions).
NO_SUBSTITUTION = frozenset({"the", "and", "for", "are", "but", "not", "its"})

#: Homophone groups: a fallback replacement must not sound like the original.
HOMOPHONES: tuple[frozenset[str], ...] = tuple(
    frozenset(g.split())
    for g in (
        "sun son",
        "hear here",
        "would wood",
        "there their",
        "see sea",
        "where wear",
        "center centre",
        "capital capitol",
        "write right",
        "road rode",
        "tail tale",
        "meet meat",
        "week weak",
        "sail sale",
        "plain plane",
        "whole hole",
        "for four",
        "new knew",
        "no know",
        "one won",
        "our hour",
        "great grate",
        "past passed",
        "threw through",
        "made maid",
        "blew blue",
        "flour flower",
        "weather whether",
        "rain reign",
        "board bored",
        "course coarse",
        "piece peace",
        "site sight cite",
        "seen scene",
        "red read",
        "led lead",
        "way weigh",
        "wait weight",
        "by buy",
        "to too two",
        "feet feat",
        "toe tow",
        "sole soul",
        "rose rows",
        "war wore",
    )
)

#: Number words and ordinals; planted miscues never touch these (nor digit tokens).
NUMBER_WORDS = frozenset(
    """
zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty
ninety hundred hundreds thousand thousands million millions billion first second third
fourth fifth sixth seventh eighth ninth tenth eleventh twelfth twentieth half once twice
dozen dozens
""".split()
)

#: Function words (articles, prepositions, conjunctions, forms of "be", "it", "that",
#: "this"): the small, frequent words a reader skips or adds without noticing. An
#: omission of detail "function_word" skips one of these.
FUNCTION_WORDS = frozenset(
    "a an the of to in on at by for from with as and or but is was are were be it that this"
    .split()
)

#: Function words spoken as insertions (detail "function_word").
INSERT_FUNCTION_WORDS = ("the", "a", "of", "to", "and", "in")
#: Other words spoken as insertions (detail "word"): adverbs that fit almost anywhere.
INSERT_ADVERBS = ("very", "really", "just", "also")
#: Every word spoken as an insertion, plus ``REPEAT`` (say the previous word again,
#: detail "repetition").
INSERT_WORDS = ("very", "really", "the", "and", "just", "also", "a", "of", "to", "in")
REPEAT = "<repeat>"

#: Endings a morphology slip adds or drops ("walked" -> "walk", "state" -> "states",
#: "large" -> "larger", "quick" -> "quickly"), with the usual spelling changes (final
#: "e" dropped, "y" -> "i", doubled consonant).
MORPHOLOGY_SUFFIXES = ("s", "es", "ed", "d", "ing", "er", "r", "est", "st", "ly")
