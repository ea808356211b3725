"""Text normalization for the embedded router: phrase folding, tokenizing and a small suffix stemmer.

Invariant: every function here is pure and deterministic, and the router runs the same functions over
routing-preference descriptions and over conversations, so both sides land on the same stems.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache

# Multi-word cues folded into one token (matched on tokens, so "step-by-step" and "what's" fold too):
# "zip code" is not about code, "step by step" is a reasoning cue that no single word carries.
PHRASES: dict[str, str] = {
    "zip code": "zipcode",
    "postal code": "zipcode",
    "area code": "zipcode",
    "dress code": "dresscode",
    "promo code": "promocode",
    "discount code": "promocode",
    "country code": "countrycode",
    "morse code": "morsecode",
    "step by step": "stepbystep",
    "multi step": "multistep",
    "multiple steps": "multistep",
    "trade off": "tradeoff",
    "trade offs": "tradeoff",
    "pros and cons": "proscons",
    "root cause": "rootcause",
    "root causes": "rootcause",
    "first principles": "firstprinciples",
    "walk me through": "walkthrough",
    "in depth": "indepth",
    "key points": "keypoints",
    "main points": "keypoints",
    "bullet points": "bulletpoints",
    "action items": "actionitems",
    "tl dr": "tldr",
    "unit test": "unittest",
    "unit tests": "unittest",
    "pull request": "pullrequest",
    "stack trace": "stacktrace",
    "linked list": "linkedlist",
    "hash map": "hashmap",
    "data frame": "dataframe",
    "group by": "groupby",
    "order by": "orderby",
    "left join": "sqljoin",
    "inner join": "sqljoin",
    "outer join": "sqljoin",
    "window function": "windowfunction",
    "rolling average": "rollingaverage",
    "moving average": "rollingaverage",
    "short story": "shortstory",
    "song lyrics": "lyrics",
    "what is": "whatis",
    "what's": "whatis",
    "who is": "whois",
    "who was": "whois",
    "when was": "whenwas",
    "when did": "whenwas",
    "how many": "howmany",
    "how much": "howmuch",
    "how long": "howlong",
    "in one sentence": "oneline",
    "in one word": "oneline",
    "one liner": "oneline",
    "two factor": "twofactor",
    "payment method": "paymentmethod",
    "payment methods": "paymentmethod",
    "credit card": "creditcard",
    "not working": "notworking",
    "stopped working": "notworking",
    "doesn't work": "notworking",
    "does not work": "notworking",
    "isn't working": "notworking",
    "won't load": "notworking",
    "blank screen": "blankscreen",
    "blank page": "blankscreen",
    "white screen": "blankscreen",
    "error message": "errormessage",
    "error messages": "errormessage",
    "went wrong": "errormessage",
    "boil down": "boildown",
    "how many ways": "howmanyways",
    "expected value": "expectedvalue",
    "product description": "productdescription",
    "ad copy": "adcopy",
    "square root": "squareroot",
    "think through": "thinkthrough",
    "reason through": "thinkthrough",
    "talk me through": "thinkthrough",
    "sign out": "signout",
    "log out": "signout",
    "logged out": "signout",
    "logs me out": "signout",
    "sign in": "signin",
    "log in": "signin",
    "world building": "worldbuilding",
    "landing page": "landingpage",
    "2 factor": "twofactor",
}


_SPECIAL = re.compile(r"c\+\+|\b[cf]#|(?<![\w.])\.net\b")
_SPECIAL_TOKENS = {"c++": " cplusplus ", "c#": " csharp ", "f#": " fsharp ", ".net": " dotnet "}
# Punctuation (ASCII, the underscore of snake_case, common typographic marks) becomes a space, then
# str.split: about six times faster than a regex findall, which was most of the router's time.
_TYPOGRAPHIC = "\u2018\u2019\u201a\u201c\u201d\u201e\u2013\u2014\u2026\u00ab\u00bb\u2039\u203a\u00bf\u00a1\u00b7\u2022"
_PUNCTUATION = string.punctuation + _TYPOGRAPHIC
_SPLIT_TABLE = str.maketrans(dict.fromkeys(_PUNCTUATION, " "))
_VOWEL = re.compile(r"[aeiouy]")


def _phrase_table() -> dict[str, tuple[tuple[tuple[str, ...], str], ...]]:
    """first word -> ((following words, folded token), ...), longest phrases first."""
    table: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for phrase, folded in PHRASES.items():
        words = phrase.translate(_SPLIT_TABLE).split()
        if len(words) > 1:
            table.setdefault(words[0], []).append((tuple(words[1:]), folded))
    return {first: tuple(sorted(rest, key=lambda r: (-len(r[0]), r[0]))) for first, rest in table.items()}


_PHRASE_STARTS = _phrase_table()


def tokens(text: str) -> list[str]:
    """Lowercased word tokens with known phrases folded into one token; snake_case splits into words.

    Letters and digits outside ASCII stay inside tokens ("inglés", "我们"); a symbol that is neither
    punctuation nor space (an emoji, an arrow) stays glued to its word, which then matches nothing.
    """
    low = text.lower()
    if "#" in low or "+" in low or ".net" in low:
        low = _SPECIAL.sub(lambda m: _SPECIAL_TOKENS[m.group(0)], low)
    words = low.translate(_SPLIT_TABLE).split()
    starts = _PHRASE_STARTS
    hits = [i for i, w in enumerate(words) if w in starts]
    if not hits:
        return words
    out: list[str] = []
    pos = 0
    for i in hits:
        if i < pos:
            continue  # inside a phrase folded already
        for rest, folded in starts[words[i]]:
            end = i + 1 + len(rest)
            if tuple(words[i + 1 : end]) == rest:
                out.extend(words[pos:i])
                out.append(folded)
                pos = end
                break
    out.extend(words[pos:])
    return out


# (suffix, replacement); the first suffix that fits wins. Conservative on purpose: a wrong merge (two
# different words on one stem) costs more than a missed one, which the concept lexicon covers anyway.
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("izations", "iz"),
    ("ization", "iz"),
    ("isations", "iz"),
    ("isation", "iz"),
    ("ational", "at"),
    ("ations", "at"),
    ("ation", "at"),
    ("izing", "iz"),
    ("ising", "iz"),
    ("ized", "iz"),
    ("ised", "iz"),
    ("izes", "iz"),
    ("ize", "iz"),
    ("ings", ""),
    ("ing", ""),
    ("ies", "y"),
    ("ied", "y"),
    ("ness", ""),
    ("ions", ""),
    ("ion", ""),
    ("edly", ""),
    ("ed", ""),
    ("sses", "ss"),
    ("ches", "ch"),
    ("shes", "sh"),
    ("xes", "x"),
    ("ly", ""),
)
_NO_PLURAL = ("ss", "us", "is")
_UNDOUBLE = frozenset("bdfgkmnprt")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light suffix stemmer: plurals, -ing, -ed, -ion, -ation, -ize and a final -e."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, repl in _SUFFIXES:
        rest = word[: -len(suffix)]
        # Like Porter: a suffix only comes off when the rest has a vowel ("string" and "need" stay).
        if word.endswith(suffix) and len(rest) >= 3 and _VOWEL.search(rest):
            word = rest + repl
            if not repl and suffix in ("ing", "ings", "ed") and rest[-1] == rest[-2] and rest[-1] in _UNDOUBLE:
                word = rest[:-1]  # "mapping" -> "map", "debugged" -> "debug"
            break
    else:
        if word.endswith("s") and not word.endswith(_NO_PLURAL):
            word = word[:-1]
    if len(word) >= 4 and word.endswith("e"):
        word = word[:-1]
    return word
