"""The embedded router's built-in concept lexicon, stopwords and generic words (tables, no logic).

A concept is a kind of request that users describe in many words ("code": python, function, regex,
boilerplate...). The router expands words on both sides (conversation and preference description) into
concepts, so "write a regex" meets a description that only says "generating new code". Weights say how
sure a word alone makes us: 1.0 the word is about that concept, 0.5 often, 0.3 a hint. Entries are
plain words; `brightstaff.routing.text.stem` folds them at import, so list spellings, not stems.
"""

from __future__ import annotations

CODE = "code"
REASONING = "reasoning"
EXPLAIN = "explain"
SUMMARIZE = "summarize"
TRANSLATE = "translate"
MATH = "math"
CREATIVE = "creative"
DATA = "data"
WRITING = "writing"
BILLING = "billing"
ACCESS = "access"
MALFUNCTION = "malfunction"


def _words(words: str, weight: float) -> dict[str, float]:
    return dict.fromkeys(words.split(), weight)


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


def _wordlist(words: str) -> tuple[str, ...]:
    return tuple(words.split())


# Languages: a translation hint alone, a strong cue in "into French" or "the German version".
LANGUAGES: tuple[str, ...] = _wordlist(
    """
    french spanish german italian portuguese dutch polish russian ukrainian chinese mandarin cantonese
    japanese korean arabic hindi turkish swedish norwegian danish finnish greek hebrew vietnamese thai
    indonesian czech romanian hungarian english
    """
)


# concept -> {word: weight}
CONCEPT_WORDS: dict[str, dict[str, float]] = {
    CODE: {
        **_words(
            """
            code coding coder program programming programmer function functions class script scripts
            implement implementation boilerplate scaffold scaffolding snippet refactor refactoring debug
            debugging bug bugs compile compiler compilation syntax python javascript typescript java rust
            golang cplusplus csharp fsharp dotnet ruby php kotlin scala perl haskell elixir clojure lua bash
            shell powershell html css react vue angular svelte django flask fastapi express nodejs npm pip
            regex regexp unittest pytest jest stacktrace traceback variable variables loop recursion
            recursive dockerfile kubernetes terraform yaml endpoint endpoints api sdk library framework
            decorator async await lambda struct enum typedef def const var namespace constructor getter
            setter linter eslint webpack vite crud orm repository repo git github pullrequest commit
            microservice backend frontend component components module callback exception runtime
            null undefined typeerror valueerror segfault linkedlist hashmap json parser parse cli lru
            memoization fibonacci palindrome binary workflow deploy deployment docker manifest assembly
            codebase handler middleware webhook sqlalchemy pandas numpy
            """,
            1.0,
        ),
        "sql": 0.6,
        "query": 0.3,
        "schema": 0.5,
        "migration": 0.5,
        "database": 0.3,
        "algorithm": 0.6,
        "test": 0.3,
        "tests": 0.4,
        "error": 0.4,
        "fix": 0.4,
        "crash": 0.3,
        "type": 0.2,
        "types": 0.4,
        "app": 0.3,
        "method": 0.6,
        "methods": 0.6,
        "interface": 0.5,
        "server": 0.3,
        "http": 0.5,
        "csv": 0.3,
        "file": 0.2,
        "files": 0.2,
        "ci": 0.6,
        "build": 0.3,
        "config": 0.4,
        "quicksort": 0.5,
        "makefile": 1.0,
        "cmake": 1.0,
        "gradle": 1.0,
        "maven": 0.8,
        "pydantic": 1.0,
        "dataclass": 1.0,
        "swiftui": 1.0,
        "swift": 0.5,
        "graphql": 0.6,
        "websocket": 0.8,
        "jwt": 0.6,
        "oauth": 0.4,
        "cron": 0.7,
        "nginx": 0.6,
        "ansible": 0.8,
        "helm": 0.6,
        "redis": 0.5,
        "awk": 0.8,
        "sed": 0.6,
        "grep": 0.8,
        "jq": 0.8,
        "toml": 0.6,
        "stdin": 1.0,
        "stdout": 1.0,
        "argparse": 1.0,
        "mutex": 1.0,
        "goroutine": 1.0,
        "closure": 0.6,
        "generics": 0.6,
        "inheritance": 0.5,
        "serialize": 0.6,
        "deserialize": 0.8,
        "complexity": 0.2,
    },
    REASONING: {
        **_words(
            """
            reasoning reason analyze analyse analysis analyses analytical compare comparison contrast
            tradeoff tradeoffs proscons evaluate evaluation assess assessment implications implication
            strategy strategic multistep stepbystep rootcause firstprinciples critique critically weigh
            justify deduce infer inference logic logical diagnose hypothesis hypotheses scenario scenarios
            ethical ethics dilemma decide decision
            """,
            1.0,
        ),
        "complex": 0.6,
        "nuanced": 0.7,
        "thorough": 0.6,
        "indepth": 0.6,
        "detailed": 0.4,
        "comprehensive": 0.5,
        "versus": 0.6,
        "vs": 0.6,
        "recommend": 0.35,
        "recommendation": 0.6,
        "should": 0.3,
        "why": 0.4,
        "consider": 0.5,
        "considerations": 0.7,
        "risk": 0.6,
        "risks": 0.6,
        "consequences": 0.6,
        "causes": 0.5,
        "cause": 0.4,
        "plan": 0.4,
        "planning": 0.5,
        "think": 0.4,
        "thinking": 0.4,
        "argument": 0.6,
        "arguments": 0.6,
        "better": 0.3,
        "optimal": 0.5,
        "prioritize": 0.6,
        "investigate": 0.6,
        "design": 0.4,
        "architecture": 0.4,
        "cost": 0.3,
        "costs": 0.3,
        "evidence": 0.5,
        "drivers": 0.5,
        "structured": 0.4,
        "phases": 0.4,
        "walkthrough": 0.5,
        "breakdown": 0.5,
        "thinkthrough": 1.0,
        "whether": 0.3,
        "benchmark": 0.3,
        "benchmarks": 0.3,
        "proof": 0.3,
        "prove": 0.3,
        "algorithm": 0.3,
    },
    EXPLAIN: {
        **_words(
            """
            explain explaining explanation explanations elaborate clarify walkthrough
            """,
            1.0,
        ),
        "detail": 0.5,
        "detailed": 0.6,
        "details": 0.4,
        "thorough": 0.5,
        "indepth": 0.6,
        "why": 0.5,
        "how": 0.2,
        "describe": 0.5,
        "understand": 0.4,
        "teach": 0.5,
        "intuition": 0.6,
        "difference": 0.3,
        "works": 0.2,
    },
    SUMMARIZE: {
        **_words(
            """
            summarize summarise summary summaries summarization tldr recap condense keypoints takeaways gist
            digest synopsis abridge
            """,
            1.0,
        ),
        "shorten": 0.8,
        "bulletpoints": 0.6,
        "brief": 0.4,
        "briefly": 0.4,
        "overview": 0.5,
        "highlights": 0.5,
        "outline": 0.3,
        "actionitems": 0.6,
        "boildown": 0.8,
        "skim": 0.5,
        "transcript": 0.5,
        "notes": 0.3,
        "article": 0.3,
        "thread": 0.3,
        "report": 0.2,
        "short": 0.2,
        "abstract": 0.3,
    },
    TRANSLATE: {
        **_words(
            """
            translate translation translations translator localize localization localise multilingual
            traducir traduire traduzir übersetzen
            """,
            1.0,
        ),
        **dict.fromkeys(LANGUAGES, 0.6),
        **_words("inglés ingles anglais englisch", 0.6),
        "language": 0.4,
        "languages": 0.5,
        "say": 0.2,
    },
    MATH: {
        **_words(
            """
            math maths mathematics mathematical equation equations calculus algebra geometry trigonometry
            integral derivative differentiate integrate theorem eigenvalues eigenvalue matrix polynomial
            logarithm factorial probability combinatorics permutations combinations arithmetic irrational
            prime primes sqrt sin cos tan quadratic variance
            """,
            1.0,
        ),
        "solve": 0.6,
        "calculate": 0.6,
        "calculation": 0.6,
        "calculations": 0.6,
        "compute": 0.4,
        "proof": 0.8,
        "prove": 0.8,
        "formula": 0.6,
        "statistics": 0.5,
        "average": 0.3,
        "percent": 0.3,
        "percentage": 0.3,
        "fraction": 0.5,
        "sum": 0.3,
        "numbers": 0.3,
        "simplify": 0.5,
        "ways": 0.3,
        "interest": 0.5,
        "compound": 0.8,
        "compounded": 0.8,
        "loan": 0.3,
        "howmanyways": 1.0,
        "expectedvalue": 1.0,
        "squareroot": 1.0,
        "area": 0.4,
        "perimeter": 1.0,
        "circumference": 1.0,
        "radius": 0.8,
        "diameter": 0.6,
        "triangle": 0.8,
        "rectangle": 0.8,
        "circle": 0.4,
        "angle": 0.6,
        "hypotenuse": 1.0,
        "slope": 0.6,
        "intercept": 0.6,
        "volume": 0.3,
        "odds": 0.5,
        "dice": 0.6,
        "die": 0.3,
        "coin": 0.4,
        "ratio": 0.5,
        "mean": 0.2,
        "median": 0.6,
        "logarithm": 1.0,
        "exponent": 0.8,
        "limit": 0.2,
        "series": 0.3,
        "vector": 0.5,
        "speed": 0.2,
        "homework": 0.3,
        "word": 0.1,
    },
    CREATIVE: {
        **_words(
            """
            creative story stories shortstory poem poems poetry haiku limerick sonnet fiction novel
            narrative lyrics song screenplay fantasy fairy tale rhyme slogan slogans tagline jingle
            bedtime plot dialogue character characters noir
            """,
            1.0,
        ),
        "imaginative": 0.8,
        "marketing": 0.6,
        "copy": 0.4,
        "catchy": 0.7,
        "brainstorm": 0.4,
        "joke": 0.3,
        "style": 0.3,
        "voice": 0.3,
        "continue": 0.3,
        "twist": 0.6,
        "hero": 0.6,
        "landingpage": 0.5,
        "productdescription": 0.8,
        "adcopy": 1.0,
        "toast": 0.7,
        "speech": 0.4,
        "eulogy": 0.8,
        "vows": 0.8,
        "funny": 0.4,
        "humorous": 0.6,
        "heartfelt": 0.5,
        "backstory": 1.0,
        "worldbuilding": 1.0,
        "villain": 0.8,
        "protagonist": 1.0,
        "rap": 0.6,
        "ballad": 1.0,
        "anthem": 0.6,
        "fable": 1.0,
        "myth": 0.5,
        "invent": 0.4,
        "imagine": 0.5,
        "persuasive": 0.7,
        "headline": 0.6,
        "description": 0.2,
        "compose": 0.5,
    },
    DATA: {
        **_words(
            """
            sql query queries database databases schema warehouse dataset datasets spreadsheet excel
            dataframe groupby orderby sqljoin pivot windowfunction rollingaverage bigquery snowflake
            redshift postgres postgresql mysql sqlite mongodb cohort tabular columns column rows analytics
            dashboard
            """,
            1.0,
        ),
        "data": 0.6,
        "table": 0.4,
        "tables": 0.5,
        "csv": 0.8,
        "metrics": 0.5,
        "churn": 0.5,
        "revenue": 0.4,
        "aggregate": 0.7,
        "count": 0.3,
        "rank": 0.4,
        "select": 0.3,
        "export": 0.3,
        "conversion": 0.3,
        "average": 0.3,
    },
    WRITING: {
        **_words(
            """
            email emails letter essay blog article proofread rewrite rephrase paraphrase grammar wording
            newsletter memo cover
            """,
            1.0,
        ),
        "draft": 0.6,
        "tone": 0.5,
        "formal": 0.4,
        "polite": 0.4,
        "friendlier": 0.5,
        "post": 0.3,
    },
    BILLING: {
        **_words(
            """
            billing invoice invoices refund refunds refunded charged charge charges overcharged receipt
            receipts paymentmethod payment payments creditcard debit paypal subscription subscriptions
            renewal prorated pricing price prices discount coupon promocode vat
            """,
            1.0,
        ),
        "plan": 0.5,
        "plans": 0.5,
        "cancel": 0.5,
        "money": 0.6,
        "paid": 0.6,
        "pay": 0.6,
        "cost": 0.3,
        "annual": 0.4,
        "monthly": 0.3,
        "trial": 0.5,
        "upgrade": 0.5,
        "downgrade": 0.5,
    },
    ACCESS: {
        **_words(
            """
            password passwords login logins twofactor authentication authenticator otp mfa 2fa sso
            locked lockout hacked compromised suspicious phishing credentials unauthorized
            """,
            1.0,
        ),
        "security": 0.7,
        "reset": 0.5,
        "verify": 0.4,
        "verification": 0.5,
        "access": 0.4,
        "sign": 0.3,
        "signin": 0.6,
        "signout": 0.7,
        "session": 0.3,
        "sessions": 0.4,
        "devices": 0.3,
        "log": 0.3,
        "codes": 0.3,
    },
    MALFUNCTION: {
        **_words(
            """
            crash crashes crashing crashed broken notworking bug bugs glitch glitches freezes frozen hangs
            unresponsive blankscreen errormessage
            """,
            1.0,
        ),
        "error": 0.7,
        "errors": 0.7,
        "fails": 0.6,
        "failing": 0.6,
        "failed": 0.5,
        "stuck": 0.6,
        "fix": 0.4,
        "issue": 0.4,
        "wrong": 0.5,
        "slow": 0.4,
        "nothing": 0.3,
        "disappeared": 0.5,
        "missing": 0.4,
    },
}

# Words that never count as evidence on their own: function words, pronouns, chat filler.
STOPWORDS: frozenset[str] = _wordset(
    """
    a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing don done down during each few for from further
    had has have having he her here hers herself him himself his i if in into is it its itself just let
    me more most my myself no nor not now of off on once only or other our ours ourselves out over own
    please same she so some such than that the their theirs them themselves then there these they this
    those through to too under until up very was we were what when where which while who whom will with
    would you your yours yourself yourselves u ur im ive id youre thats its s t d ll m re ve can cant
    hi hello hey thanks thank ok okay yes yeah sure great cool lol pls plz one two three etc eg ie
    whatis whois whenwas howmany howmuch howlong via per
    """
)

# Words too common in requests and descriptions to mean much when they are the only overlap
# ("write" is in "writing functions" and in "write a birthday message").
GENERIC: frozenset[str] = _wordset(
    """
    write writing written create creating generate generating make making new build building give get
    need want help task tasks question questions thing things use using used work working good
    best way ways like know tell show find look see try detailed detail details complex simple short
    long text something anything everything example examples also well much many include including
    such provide based keep keeping into while problem problems issue issues word words app apps
    account accounts user users page people time day thing stuff
    """
)
