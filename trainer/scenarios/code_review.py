"""Code review: pull requests to read, check and then approve, fix or send back.

Every intent is resolved by a short, fixed sequence of the review tools: most start with
`read_diff`, dependency changes with `check_dependencies`, and a few use the same tools in
another order (a scanner alert is checked before the diff is read, a red build is run before
it is read), so the agent has to read the request to know what comes next. The requests are
written from phrasing templates filled with slot values by a fixed-seed generator, so every
build yields the same tasks with the same ids.
"""

from __future__ import annotations

from trainer.scenarios.base import Intent, ScenarioSpec, build_spec

ID = "code_review"
PREFIX = "cr"
SEED = 20240602

TOOLS = (
    "read_diff",
    "run_tests",
    "run_linter",
    "check_security",
    "check_dependencies",
    "check_docs",
    "check_performance",
    "comment_inline",
    "suggest_fix",
    "request_changes",
    "approve",
)

# What each tool does, as a user would describe it to a model reading tools.
DESCRIPTIONS = {
    "read_diff": "Read the pull request's changed lines.",
    "run_tests": "Run the project's test suite against the pull request.",
    "run_linter": "Run the linter and style checks over the changed files.",
    "check_security": "Scan the change for security problems: injections, secrets, unsafe calls.",
    "check_dependencies": "Check added or upgraded dependencies for known vulnerabilities and licences.",
    "check_docs": "Check the documentation changes: spelling, broken links, rendering.",
    "check_performance": "Benchmark the change and compare its speed and memory with the main branch.",
    "comment_inline": "Leave a review comment on specific lines of the diff.",
    "suggest_fix": "Propose a concrete code change that fixes a problem found in review.",
    "request_changes": "Submit the review asking the author for changes before merging.",
    "approve": "Approve the pull request for merging.",
}

# (intent, solution, templates: one a line, each with at least one {slot})
INTENTS: tuple[Intent, ...] = (
    (
        "typo_fix",
        ("read_diff", "approve"),
        """
        PR #{pr}: fixes a typo in the error message in {file} ("recieve" -> "receive"). Can you take a look?
        tiny one: spelling fix in {file}, pls review
        Requesting review of #{pr}, which corrects a misspelled word in a user-facing string in {file}. No functional changes.
        typo fix {file} #{pr}
        It's literally a one-character typo fix in {file}. Why has #{pr} been waiting three days for review?!
        hey {author} fixed a typo in a log line in {file}, can u review real quick
        {author} noticed "occured" in a comment in {file} while hunting a bug on {branch}; #{pr} fixes just the spelling.
        Review please: #{pr} renames a misspelled local variable `lenght` to `length` in {file}, nothing else.
        Corrected the spelling of "seperate" in {file}. Small PR (#{pr}), should be quick.
        one-word typo in the CLI help text of {module}, PR #{pr}
    """,
    ),
    (
        "docs_update",
        ("read_diff", "check_docs", "approve"),
        """
        PR #{pr} updates the README section for {module} to describe the new config flag. Please review.
        docs pr for {module}, #{pr}
        Kindly review #{pr}: it rewrites the docstrings of `{func}` in {file} to reflect current behaviour. Documentation only.
        README update #{pr} ({module})
        Please can someone review the docs change in #{pr}? It's been sitting there since {date} and the old docs are WRONG.
        hey i added usage examples to the docs for `{func}`, can u check they match the code
        {author} wrote a migration guide page for {lib} {version} users in #{pr}; only markdown files changed.
        #{pr} fixes outdated parameter descriptions in the API reference for `{func}`. Could you check them against the implementation?
        Updated CHANGELOG and the docs for {module} in #{pr}. No code touched.
        added docstrings to {file}, just documentation, please verify they're accurate (#{pr})
    """,
    ),
    (
        "style_issues",
        ("read_diff", "run_linter", "suggest_fix"),
        """
        PR #{pr} in {file} has inconsistent indentation and unused imports. Can you review and suggest fixes?
        formatting is all over the place in #{pr}, long lines everywhere. pls review
        Please review #{pr}; I suspect it does not conform to our style guide (naming, import order) in {file}.
        style check #{pr} {file}
        Whoever wrote {file} in #{pr} clearly never heard of the style guide. Mixed tabs and spaces again.
        can u look at #{pr}, CI lint step is yellow and {author} isnt sure what to change
        {author} is new on the team and opened #{pr} touching {file}; the code works but naming and formatting don't match our conventions.
        #{pr}: {module} changes with unused variables and shadowed names. Review and propose corrected code?
        Review request: {file} in #{pr} has camelCase names in a snake_case codebase, plus trailing whitespace.
        pls review #{pr}, i think i left some dead imports and weird formatting in {file}
    """,
    ),
    (
        "sql_injection",
        ("read_diff", "check_security", "request_changes"),
        """
        PR #{pr} builds the SQL query in `{func}` by concatenating the user's search string. Please review.
        #{pr} uses f-strings to put request params straight into a query on the {table} table. review?
        Please review #{pr}: the new report endpoint in {file} interpolates the `sort` query parameter directly into raw SQL.
        raw sql with string formatting in {file}, #{pr}
        I can't believe #{pr} passed CI. `{func}` pastes user input into a SQL string for the {table} table!!
        hey can u review #{pr}, i wrote a quick filter for {table} using "WHERE name = '" + name + "'" lol
        {author} added an admin search page in #{pr}; the query against {table} is assembled with % formatting from form fields. Please look before it ships on {date}.
        #{pr} replaces the ORM call in `{func}` with a hand-built SQL string containing the user id from the URL.
        Review needed on {file}: query text built from cookie values with .format() in #{pr}.
        quick review #{pr}? dynamic ORDER BY on {table} straight from user input in `{func}`
    """,
    ),
    (
        "hardcoded_secret",
        ("check_security", "read_diff", "request_changes"),
        """
        The secret scanner flagged PR #{pr}: looks like an AWS key was committed in {file}. Please review.
        #{pr} has an API token pasted into {file}?? pls check
        Please review #{pr}. Our scanning bot reports a possible hard-coded password in the {module} configuration.
        leaked credential alert on #{pr} ({file})
        Someone committed the production database password in {file} in #{pr}. Again. Review and block this.
        hey {author} says the stripe key in {file} is just a test key, can u double check #{pr}
        {author} added a quick integration with {lib} in #{pr} and the private key appears to be hard-coded in {file}.
        Security alert: a token-like string was detected in the diff of #{pr} ({file}). Is it real?
        #{pr} contains a `.env` file for {module} with what look like real credentials. Review please.
        gitleaks complains about {file} in #{pr}, might be a real secret
    """,
    ),
    (
        "dependency_bump",
        ("check_dependencies", "run_tests", "approve"),
        """
        Dependabot opened #{pr}: bump {lib} from {old_version} to {version}. Please review.
        bump {lib} to {version}, #{pr}
        Kindly review #{pr}, a routine minor-version upgrade of {lib} ({old_version} -> {version}) in the lockfile.
        {lib} {old_version}->{version} #{pr}
        Can someone PLEASE review the {lib} upgrade in #{pr}? It's been open for two weeks and we're falling behind.
        renovate bot bumped {lib} to {version} in #{pr}, looks harmless?
        {author} upgraded {lib} to {version} in #{pr} because of the deprecation warning we saw on {date}; nothing else changed.
        #{pr} updates the pinned version of {lib} to {version} in requirements. Patch release, changelog mentions only bug fixes.
        Routine dependency update in #{pr}: {lib} {version}. Mind reviewing?
        lockfile refresh for {lib} ({version}) in #{pr}, ok to merge if CI passes?
    """,
    ),
    (
        "vulnerable_dependency",
        ("check_dependencies", "check_security", "request_changes"),
        """
        PR #{pr} adds {lib} {old_version}, and I remember there's a CVE for that version. Please review.
        #{pr} pins {lib} to an old version {old_version}, isn't that one vulnerable?
        Please review #{pr}. It introduces {lib} {old_version} as a new dependency, which may be affected by a known security advisory.
        new dep {lib} {old_version} in #{pr}, advisory?
        #{pr} DOWNGRADES {lib} to {old_version} to dodge a test failure. That version has a known vulnerability, right??
        hey i added {lib} {old_version} in #{pr}, pip audit printed something scary, can u review
        {author} pulled in an unmaintained fork of {lib} in #{pr} to fix a build on {branch}; not sure it's safe.
        Review #{pr}: it adds {lib} {old_version} copied from another project's lockfile, and our audit job shows a high-severity advisory.
        Is it ok that #{pr} brings {lib} back to {old_version}? I thought we upgraded because of a CVE.
        #{pr} adds a transitive dep on {lib} {old_version}, audit says vulnerable
    """,
    ),
    (
        "missing_tests",
        ("read_diff", "run_tests", "comment_inline"),
        """
        PR #{pr} adds a new `{func}` function in {file} but I don't see any tests. Please review.
        #{pr} new feature in {module}, no tests?? review pls
        Please review #{pr}. It introduces a discount calculation in {module} without accompanying unit tests; coverage may have dropped.
        no tests for {func}, #{pr}
        Another PR without a single test. #{pr} adds `{func}` and expects us to trust it.
        hey can u review #{pr}, i added `{func}` but ran out of time to write tests
        {author} implemented the retry logic for {lib} calls in #{pr}; the coverage report on {branch} shows the new lines uncovered.
        #{pr}: new parsing code in {file}, test file unchanged. Review and point out what needs tests?
        Review #{pr} please, it adds an endpoint in {module} and the tests folder wasn't touched.
        coverage dropped after #{pr} ({file}), can you flag the untested lines
    """,
    ),
    (
        "failing_tests",
        ("run_tests", "read_diff", "suggest_fix"),
        """
        CI is red on PR #{pr}: test_{func} fails after the change to {file}. Can you review and suggest a fix?
        #{pr} breaks the tests in {module}, no idea why. help
        Please review #{pr}; the test suite fails on {branch} since this change and the author cannot reproduce it locally.
        failing tests #{pr} {module}
        #{pr} has been red for two days and {author} keeps re-running CI hoping it goes green. Look at it please.
        hey my pr #{pr} fails 3 tests in {module}, can u tell me what i did wrong
        {author} refactored the date handling in {file} in #{pr} and now test_{func} fails only in the UTC+10 job.
        Review request: #{pr} makes test_{func} fail with an AssertionError. Could you propose the change that fixes it?
        #{pr}: build passes, unit tests fail in {module}. Please investigate and suggest a patch.
        test_{func} broken by #{pr}, what should the code look like?
    """,
    ),
    (
        "breaking_api_change",
        ("read_diff", "check_docs", "request_changes"),
        """
        PR #{pr} renames the public function `{func}` in {module} without a deprecation period. Please review.
        #{pr} changes the signature of `{func}`, isnt that public api?
        Please review #{pr}. It removes the `timeout` parameter from the public `{func}` API in {module}; downstream users may break.
        public api change in #{pr}, `{func}`
        #{pr} BREAKS every client that calls `{func}`. Did anyone check the docs or the changelog?
        hey i changed the return type of `{func}` from list to dict in #{pr}, hope nobody uses it lol
        {author} reorganised {module} in #{pr} and moved `{func}` to a private module; the docs still point to the old import path.
        Review #{pr}: the REST response of `{func}` drops a field that the published API docs guarantee.
        #{pr} makes a required argument out of an optional one in `{func}`. Is that ok for a minor release?
        signature of `{func}` changed in #{pr}, docs not updated
    """,
    ),
    (
        "performance_regression",
        ("read_diff", "check_performance", "suggest_fix"),
        """
        PR #{pr} queries the {table} table inside a loop in `{func}`, looks like an N+1. Please review.
        #{pr} made the {module} endpoint way slower, p95 went from 80ms to 2s
        Please review #{pr}. The new implementation of `{func}` appears to have quadratic complexity for large inputs.
        slow query in #{pr}, {table}
        Why does `{func}` now take 10 seconds?! #{pr} must have done something terrible. Review it.
        hey can u check #{pr} for perf stuff, {func} loads the whole {table} table into memory
        {author} replaced the cache in {file} with direct {lib} calls in #{pr}; our benchmarks on {branch} regressed by 40%.
        Review #{pr}: `{func}` now sorts the full list on every insert. Could you suggest a faster approach?
        #{pr} adds a regex compile inside a hot loop in {file}. Review and propose an optimisation?
        memory usage doubled after #{pr}, {module}
    """,
    ),
    (
        "refactor_ready",
        ("read_diff", "run_tests", "approve"),
        """
        PR #{pr} splits the long `{func}` function in {file} into smaller helpers, no behaviour change. Please review.
        small refactor #{pr}, {module}, should be safe
        Please review #{pr}. It extracts duplicated validation logic in {module} into a shared helper; behaviour should be unchanged.
        refactor {file} #{pr}
        Can someone review my refactor in #{pr} already? It's just moving code around in {module}, nothing risky.
        hey {author} cleaned up {file} a bit in #{pr}, renamed some internals, tests should still pass
        {author} replaced the nested ifs in `{func}` with early returns in #{pr}, ahead of the {date} release.
        #{pr}: converts {module} from callbacks to async/await, same public interface. Ready for review.
        Review please: #{pr} removes dead code paths in `{func}` that nothing calls anymore.
        simplified `{func}` in #{pr}, same output, can u verify and merge
    """,
    ),
    (
        "logic_bug",
        ("read_diff", "comment_inline", "request_changes"),
        """
        PR #{pr}: the loop in `{func}` uses `<=` and reads one element past the end. Please review.
        #{pr} off by one in the pagination of {module}? last item missing
        Please review #{pr}. The condition in `{func}` appears inverted, so discounts are applied to ineligible orders.
        wrong condition in {func} #{pr}
        #{pr} will charge customers twice when the retry fires. Did anyone actually read `{func}`?!
        hey i think {author}'s pr #{pr} compares dates as strings in {file}, that cant be right
        {author} changed the timezone handling in `{func}` in #{pr}; events at midnight now land on the wrong day.
        Review #{pr}: `{func}` returns early before saving when the list is empty, so nothing gets written.
        In #{pr}, `{func}` mutates a default argument list. Can you review and point at the lines?
        #{pr} swaps the arguments to `{func}` in {file}, min and max reversed
    """,
    ),
)

SLOTS: dict[str, str] = {
    "pr": "|".join(str(number) for number in range(1204, 1904, 7)),
    "file": "src/billing/invoice.py|api/handlers/users.go|lib/auth/session.ts|app/models/order.rb|core/utils/dates.py|web/src/components/Cart.tsx|services/search/query.py|pkg/cache/lru.go|src/main/java/com/shop/CheckoutService.java|scripts/migrate.py|internal/report/export.go|src/notifications/email.py",
    "func": "calculate_total|parse_date|fetch_user|apply_discount|build_report|merge_accounts|send_invoice|paginate|normalize_email|retry_request|load_config|export_csv",
    "module": "the billing service|the auth module|the search API|the reporting package|the checkout flow|the notifications worker|the CLI|the payments SDK|the admin panel|the sync job",
    "lib": "requests|lodash|Django|express|numpy|log4j|urllib3|axios|Pillow|jackson-databind|PyYAML|moment",
    "version": "2.32.3|3.1.4|2.2.2|4.17.21|2.8.0|3.0.1|5.0.6|2.23.1|3.4.0|2.17.1|4.2.0|3.9.2",
    "old_version": "1.2.0|1.4.2|0.9.1|1.0.3|0.21.0|1.16.0|1.24.1|0.8.7|1.11.0|0.12.4|1.7.1|0.5.2",
    "author": "Maria|Tom|Aisha|Jonas|Priya|Liam|Chen|Sofia|Kwame|Emma|Diego|Hana",
    "table": "users|orders|payments|invoices|products|sessions|audit_log|customers|shipments|coupons",
    "branch": "main|develop|release/3.2|release/4.0|staging|hotfix/login|feature/exports|next",
    "date": "Friday|Monday|the 14th|March 3|June 2|Oct 9|Thursday|the 30th|May 21|Dec 12",
}


def build() -> ScenarioSpec:
    return build_spec(
        ID,
        version="1",
        prefix=PREFIX,
        seed=SEED,
        tools=TOOLS,
        intents=INTENTS,
        slots=SLOTS,
        counted=("pull requests", "review tools", "kinds of change"),
        name="Code Review",
        description=(
            "Train agents to perform thorough code reviews. Detect bugs, suggest improvements, "
            "and provide actionable feedback."
        ),
        difficulty="intermediate",
        duration="3-4 hours",
        rating=4.9,
        metrics=("Review Accuracy", "False Positive Rate", "Completeness"),
        # Flaky CI and rate-limited scanners.
        failure_rates={"run_tests": 0.2, "check_security": 0.15, "check_dependencies": 0.1},
        # A linter with security rules stands in for the scanner, and the scanner (which
        # audits dependencies too) for the dependency check.
        fallbacks={"check_security": "run_linter", "check_dependencies": "check_security"},
        descriptions=DESCRIPTIONS,
    )
