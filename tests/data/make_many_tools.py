"""Writes many_tools.json: one request, one call, among every tool of a company's toolbox of
several hundred (no per-request list of candidates), for tests/benchmarks/ranking.py.

    .venv/bin/python tests/data/make_many_tools.py [--out tests/data/many_tools.json]

Seeded and deterministic: running it again rewrites the file byte for byte.

The tools are a function-calling toolbox of the kind a company exposes to an assistant: about
400 namespaced API-style tools (`calendar_create_event`, `crm_update_contact`,
`github_list_pull_requests`, `weather_get_forecast`, ...) over 41 services, each described
in one sentence in the service's own words. Many are near-duplicates of each other, within a
service (`crm_get_contact`, `crm_search_contacts`, `crm_list_contacts`; `calendar_update_event`,
`calendar_move_event`) and across services (`slack_send_message`, `teams_send_message`;
`drive_upload_file`, `dropbox_upload_file`; `stripe_create_invoice`,
`quickbooks_create_invoice`).

The tasks are requests the way people type them: mostly in other words than the description's
("pull up", "get rid of", "PR", "oppty"), with concrete details (names, ids, amounts, dates),
the service named in some and not in others, a terse or misspelt one now and then. Each tool
is asked for at least once; the rest of the traffic follows a Zipf law over the tools (a few
tools are asked for dozens of times, most once or twice). Every task offers every tool (no
`tools` key). About a fifth is held out, only for tools some training task asks for: `check`
makes sure.
"""

from __future__ import annotations

import argparse
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from scenario_json import dump  # beside this script

SEED = 20250301
OUT = Path(__file__).with_name("many_tools.json")
TASKS = 1000
HELDOUT = 200
ZIPF = 1.0  # the exponent of the traffic beyond each tool's first request

CHOICE = re.compile(r"\[([^\[\]]*)\]")  # [a|b|c]: one of them ([a|]: a or nothing)
SLOT = re.compile(r"\{([A-Za-z0-9_:]+)\}")  # {pool} or {o:object}, {os:...}, {r:...}, {n:...}


@dataclass(frozen=True)
class Obj:
    """A thing a service keeps, as descriptions name it (`one`, `many`) and as requests do."""

    one: str  # "pull request": the description's word, and the tool name's
    many: str  # "pull requests"
    said: str  # how a request names one: "[pull request|PR]"
    saids: str = ""  # ... several
    ref: str = ""  # one in particular, after its name: "#{pr} in {repo}"
    new: str = ""  # a new one, after its name: "from {branch} into main"
    fields: tuple[tuple[str, str], ...] = ()  # (a field as said, a new value) to update
    query: str = ""  # what to search by, as said: "[at {Company}|named {First}]"
    has: str = ""  # the description's "with ..." of a new one
    keys: str = "name or keyword"  # the description's "by ..." of a search


@dataclass(frozen=True)
class Service:
    key: str  # the tools' prefix
    label: str  # the description's name for it
    says: tuple[str, ...]  # how a request names it
    mention: float  # how often a request names it
    objects: dict[str, Obj] = field(default_factory=dict)
    generic: str = ""  # "object:verb verb ..." separated by spaces, e.g. "contact:get,list"
    tools: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (suffix, description, requests)


# --- the generic verbs: a tool name, descriptions and requests from an object --------------------

GENERIC: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "get": (
        "get_{one}",
        (
            "Get one {one} in {S} by its id, with all of its details.",
            "Retrieve a single {one} from {S} with its full record.",
        ),
        (
            "[pull up|show me|open|bring up|look up] the {o} {r}",
            "what [are the details|do we have] [on|for] the {o} {r}?",
            "I need the [full|whole|complete] {o} {r}",
            "[get|fetch|grab] [me|] the details of the {o} {r}",
        ),
    ),
    "list": (
        "list_{many}",
        (
            "List all {many} in {S}, most recent first, a page at a time.",
            "List the {many} in {S}, optionally filtered by owner and date.",
        ),
        (
            "[list|show|show me] [all|every one of] [the|our|my] {os}",
            "what {os} [do we have|are there|exist][| right now| at the moment]?",
            "[give me|I want] [a list|an overview|the full list] of [all|] [our|the|my] {os}",
        ),
    ),
    "search": (
        "search_{many}",
        ("Search {many} in {S} by {keys} and return the matches.",),
        (
            "[find|search for|look for|hunt down] [the|any|] {os} {q}",
            "[are there|do we have] any {os} {q}?",
            "I'm [trying|looking] to find [a|the] {o} {q}",
        ),
    ),
    "create": (
        "create_{one}",
        ("Create a new {one} in {S}{has}.", "Add a {one} to {S}{has}."),
        (
            "[create|make|add|set up] a [new|] {o} {n}",
            "[add|put in|log] [a|another] {o} {n}",
            "[new|another] {o} {n}[| please]",
            "we need a [new|] {o} {n}",
        ),
    ),
    "update": (
        "update_{one}",
        ("Update the fields of an existing {one} in {S}, such as its {fields}.",),
        (
            "[change|update|edit|set] the {field} [on|of|for] the {o} {r} to {value}",
            "the {o} {r} [has|needs] a new {field}: {value}",
            "{o} {r}: [the|] {field} [is now|should be|changed to] {value}",
            "[fix|correct] the {field} [of|on] the {o} {r}[,|:] it's {value}",
        ),
    ),
    "delete": (
        "delete_{one}",
        (
            "Delete a {one} from {S} permanently.",
            "Permanently remove one {one} from {S} by its id.",
        ),
        (
            "[delete|remove|get rid of|erase|trash] the {o} {r}",
            "we don't need the {o} {r} anymore, [delete|remove|kill] it",
            "[permanently|] [delete|remove|wipe] {o} {r}",
        ),
    ),
    "archive": (
        "archive_{one}",
        ("Archive a {one} in {S}: hidden from lists, but kept and searchable.",),
        (
            "[archive|shelve|put away|clean up] the {o} {r}",
            "[hide|tuck away|move out of the way] the {o} {r} [but keep it|without deleting it|]",
        ),
    ),
}

# --- the services ---------------------------------------------------------------------------------

SERVICES: tuple[Service, ...] = (
    Service(
        "calendar", "Google Calendar",
        ("on my calendar", "in Google Calendar", "on the calendar", "in gcal"), 0.35,
        {
            "event": Obj(
                "event", "events",
                "[event|meeting|appointment|invite|calendar entry]",
                "[events|meetings|appointments|calendar entries]",
                ref="['{meeting}' {day}|{meeting} at {time} {day}|with {Name} {day}|called '{meeting}']",
                new="['{meeting}' {day} at {time}|with {Name} {day} at {time} for [30 minutes|an hour|45 min]|for {meeting} {day} from {time} to {time2}]",
                fields=(("time", "{time}"), ("title", "'{meeting}'"),
                        ("location", "[Room {n}|the {city} office|{address}]"),
                        ("description", "'{doc}'")),
                query="[with {Name}|about {meeting}|mentioning '{subject}'|in {city}|{range}]",
                has=" with a title, start and end time, location and guests",
                keys="title, guest or words in its description",
            ),
        },
        "event:get,list,search,create,update,delete",
        (
            ("move_event", "Move an event to another start time, keeping its guests and details.", (
                "[move|push|reschedule|shift] the {o:event} {r:event} to {date} at {time}",
                "can the {meeting} [{day}|] be [pushed|moved] to {time}?",
                "[bump|reschedule] my {meeting} with {Name} to {date}",
            )),
            ("add_attendee", "Add a guest to an event and send them an invitation.", (
                "[invite|add] {Name} to the {o:event} {r:event}",
                "put {email} on the invite for {meeting} {day}",
                "[include|loop in] {Name} [in|on] the {meeting} {day}",
            )),
            ("remove_attendee", "Remove a guest from an event's list of attendees.", (
                "[take|drop|remove] {Name} off the {o:event} {r:event}",
                "{Name} [doesn't need to|won't] [come to|attend] the {meeting} {day}, [uninvite|remove] them",
            )),
            ("find_free_slots", "Find times when all the given people are free, within a date range.", (
                "when are {Name} and {Name2} [both free|both available] {range}?",
                "find a [slot|time|gap] for [30 minutes|an hour] with {Name} {range}",
                "[check|look at] availability for me and {Name} {range}",
            )),
            ("create_calendar", "Create a new secondary calendar with a name and a color.", (
                "[make|create|start] a [new|separate] calendar [called|named] '{team} [on-call|events|holidays]'",
                "I want a separate calendar for [my {team} team|{Name}'s shifts|vacations]",
            )),
            ("share_calendar", "Share a calendar with a person and choose what they can see or change.", (
                "[share|give access to] my calendar [with|to] {Name}[| so they can see my free/busy| with edit rights]",
                "let {email} [see|edit] my calendar",
            )),
            ("set_event_reminder", "Set when the notification before an event pops up.", (
                "remind me [10|15|30] minutes before the {o:event} {r:event}",
                "[add|set] a [notification|alert|reminder] [a day|an hour] ahead of the {meeting} {day}",
            )),
            ("respond_to_invite", "Accept, decline or tentatively accept an event invitation.", (
                "[accept|decline|say maybe to] the invite [from {Name}|for the {meeting}] {day}",
                "RSVP [yes|no] to {Name}'s {meeting}",
                "tell {Name} I can't make the {meeting} {day}",
            )),
        ),
    ),
    Service(
        "gmail", "Gmail", ("in Gmail", "in my inbox", "on email", "in my mail"), 0.3,
        {
            "email": Obj(
                "email", "emails", "[email|mail|message|e-mail]", "[emails|mails|messages]",
                ref="[from {Name} about {subject}|{Name} sent {pastday}|with the subject '{subject}'|about {subject} from {email}]",
                query="[from {Name}|about {subject}|with attachments from {Company}|mentioning '{subject}'|sent {range}]",
                keys="sender, subject, words or date",
            ),
            "label": Obj(
                "label", "labels", "[label|folder|tag]",
                new="[called|named] '[{team}|Receipts|Travel|Follow up|{Company}]'",
                has=" with a name and a color",
            ),
        },
        "email:get,search,delete,archive label:create",
        (
            ("send_email", "Send a new email to one or more recipients with a subject and a body.", (
                "[email|send an email to|shoot a mail to|write to] {Name} [about|re] {subject}",
                "send {email} a [note|message] saying [I'll be late|the contract is signed|thanks for the meeting]",
                "[drop|fire off] an email to {Name2} at {Company} about {subject}",
            )),
            ("reply_to_email", "Reply to an email in its thread, to the sender or to everyone on it.", (
                "[reply|respond|answer|write back] to {Name}'s [email|mail|message] about {subject}[| and say yes| saying {date} works]",
                "[reply all|answer everyone] on the {subject} thread: [sounds good|I'm in|we'll ship {day}]",
            )),
            ("forward_email", "Forward an email with its attachments to other recipients.", (
                "[forward|pass on|send along] the [email|mail] from {Name} about {subject} to {Name2}",
                "[fwd|forward] {Name}'s {subject} message to {email}",
            )),
            ("create_draft", "Save an email as a draft without sending it.", (
                "[draft|write up|prepare] an email to {Name} about {subject} [but don't send it|and leave it in drafts|, I'll send it myself]",
                "start a draft [for|to] {email} re {subject}",
            )),
            ("add_label", "Add a label to an email so that it is filed under it.", (
                "[label|tag|file] the [email|mail] from {Name} about {subject} as '[Receipts|Travel|{team}|Urgent]'",
                "put the {subject} [email|message] under the '[Receipts|{Company}|To do]' label",
            )),
            ("download_attachment", "Download an attachment of an email as a file.", (
                "[download|save|grab] the [attachment|PDF|file] from {Name}'s email about {subject}",
                "get me the {file} [attached to|in] the mail from {Name}",
            )),
            ("mark_as_read", "Mark emails as read or unread.", (
                "mark [all the|the] [emails|mails|messages] from {Name} as [read|unread]",
                "[clear|mark read] everything in my inbox from {range}",
            )),
            ("create_filter", "Create a filter that sorts incoming emails by sender or words.", (
                "[make|set up|create] a [rule|filter] so [mails|emails] from {email} [skip the inbox|go to '{team}'|get starred]",
                "automatically [archive|label|delete] [newsletters|emails] from {Company}",
            )),
        ),
    ),
    Service(
        "slack", "Slack", ("on Slack", "in Slack", "in slack", "on slack"), 0.4,
        {
            "channel": Obj(
                "channel", "channels", "[channel|room|slack channel]", "[channels|rooms|slack channels]",
                ref="{channel}", new="[called|named] {channel}[| for the {team} team]",
                has=" with a name, a topic and whether it is private",
            ),
        },
        "channel:list,create,archive",
        (
            ("send_message", "Post a message in a Slack channel.", (
                "[post|send|drop|write] [a message|a note|'{short}'] in {channel}",
                "tell {channel} that {short}",
                "[let|tell] everyone in {channel} know {short}",
            )),
            ("send_direct_message", "Send a private direct message to one person.", (
                "[DM|message|ping] {Name}[ that|:] {short}",
                "send {Name} a [private|direct] message [saying|:] {short}",
                "[slack|shoot] {First} a DM about {subject}",
            )),
            ("invite_to_channel", "Invite people to a channel.", (
                "[add|invite|bring] {Name} [to|into] {channel}",
                "{Name} should be in {channel}, [add|invite] them",
            )),
            ("search_messages", "Search messages across channels by words, sender or date.", (
                "[find|search for|dig up] the [message|thread|post] where {Name} [mentioned|talked about] {subject}",
                "[search|look through] {channel} for '{subject}'",
                "what did {Name} say about {subject} {range}?",
            )),
            ("pin_message", "Pin a message to the top of a channel.", (
                "pin {Name}'s [message|post] about {subject} in {channel}",
                "[stick|pin] the {subject} announcement to {channel}",
            )),
            ("add_reaction", "React to a message with an emoji.", (
                "[react to|add a :thumbsup: to|add a :tada: to] {Name}'s [message|post] in {channel}",
                "put a [:eyes:|:white_check_mark:|heart] emoji on the last message in {channel}",
            )),
            ("set_status", "Set your Slack status text, emoji and when it clears.", (
                "set my status to '[out sick|in a meeting|on vacation until {date}|commuting|heads down]'",
                "[change|update] my slack status: [lunch|OOO|focusing] [for an hour|until {time}]",
            )),
            ("set_reminder", "Create a Slackbot reminder for yourself or a channel.", (
                "remind me [in Slack|on slack] to [call {Name}|review {subject}|submit {subject}] at {time} {day}",
                "[set|create] a [slack|slackbot] reminder for {channel} [about|:] {subject} {day}",
            )),
            ("upload_file", "Upload a file to a channel or a conversation.", (
                "[upload|share|drop|post] [the file|] {file} [in|to] {channel}",
                "send {file} to {Name} on slack",
            )),
            ("get_user_profile", "Get a member's profile: title, time zone and contact details.", (
                "what's {Name}'s [title|role|timezone] on slack?",
                "[show|pull up] {Name}'s slack profile",
                "what time zone is {Name} in?",
            )),
        ),
    ),
    Service(
        "teams", "Microsoft Teams", ("on Teams", "in Teams", "in Microsoft Teams", "on MS Teams"), 0.8,
        {},
        "",
        (
            ("send_message", "Post a message in a channel of a team.", (
                "[post|send|write] [in|to] the {team} channel[ that|:] {short}",
                "tell the {team} team channel {short}",
            )),
            ("send_chat_message", "Send a chat message to a person.", (
                "[message|chat|ping] {Name}[ that|:] {short}",
                "send {Name} a chat [saying|about] {subject}",
            )),
            ("create_meeting", "Schedule an online meeting with a join link.", (
                "[set up|schedule|book] a [teams meeting|teams call|call] with {Name} {day} at {time}",
                "[create|make] a meeting link for the {meeting} {day}",
            )),
            ("create_channel", "Create a channel in a team.", (
                "[create|make|add] a [new|] channel [called|named] '{subject}' in the {team} team",
            )),
            ("add_member", "Add a person to a team as a member or an owner.", (
                "add {Name} to the {team} team[| as an owner]",
                "[give|grant] {Name} access to the {team} team",
            )),
            ("list_teams", "List the teams you belong to.", (
                "[which|what] teams am I [in|a member of]?",
                "[list|show] my teams",
            )),
            ("get_presence", "Get a user's presence: available, busy, away or offline.", (
                "is {Name} [online|available|busy|in a call] [right now|at the moment]?",
                "check {Name}'s [presence|status]",
            )),
        ),
    ),
    Service(
        "github", "GitHub", ("on GitHub", "in GitHub", "on gh", "on github"), 0.35,
        {
            "pull_request": Obj(
                "pull request", "pull requests", "[pull request|PR|merge request|pr]",
                "[pull requests|PRs|open PRs|prs]",
                ref="[#{pr} in {repo}|{repo}#{pr}|for {branch} in {repo}]",
                new="from {branch} into [main|develop] in {repo}[| titled '{bug}']",
                has=" from a head branch into a base branch, with a title and a body",
            ),
            "issue": Obj(
                "issue", "issues", "[issue|bug|gh issue]", "[issues|bugs|open issues]",
                new="in {repo} [about|titled|for] '{bug}'",
                has=" with a title, a body, labels and assignees",
            ),
            "branch": Obj(
                "branch", "branches", "[branch|feature branch]",
                ref="{branch} in {repo}",
                new="[called|named] {branch} [off|from] [main|develop] in {repo}",
                has=" from a commit or another branch",
            ),
            "repository": Obj(
                "repository", "repositories", "[repo|repository]", "[repos|repositories|projects]",
            ),
        },
        "pull_request:list,get,create issue:list,create branch:create,delete repository:list",
        (
            ("merge_pull_request", "Merge an approved pull request into its base branch.", (
                "[merge|land|ship] [PR|pull request|the PR] #{pr} in {repo}",
                "{repo}#{pr} is approved, [merge|squash and merge] it",
            )),
            ("request_review", "Request a review of a pull request from people or teams.", (
                "[ask|get] {Name} to review [PR|pull request] #{pr} [in|on] {repo}",
                "[request|add] a review from {First} on {repo}#{pr}",
                "assign {Name} as reviewer [for|on] #{pr}",
            )),
            ("close_issue", "Close an issue as completed or not planned.", (
                "close [issue|bug] #{pr} in {repo}[| as won't fix| as done]",
                "{repo}#{pr} is fixed, [close|resolve] it",
            )),
            ("comment_on_issue", "Add a comment to an issue or a pull request.", (
                "[comment|reply|add a note] on {repo}#{pr}: {short}",
                "leave a comment on [the|] [PR|issue] #{pr} in {repo} saying {short}",
            )),
            ("create_release", "Publish a release with a tag and release notes.", (
                "[cut|create|publish|tag] release v{ver} [of|for] {repo}",
                "ship {repo} v{ver} with release notes",
            )),
            ("trigger_workflow", "Run a GitHub Actions workflow on a branch.", (
                "[run|trigger|kick off|start] the [CI|deploy|tests|build] workflow on {branch} in {repo}",
                "[rerun|re-run] [actions|CI] for {repo} [on|against] {branch}",
            )),
            ("get_commit", "Get one commit: its author, its message and the files it changed.", (
                "who [wrote|pushed|authored] commit {sha} in {repo}?",
                "[show|what's in] commit {sha} [in|of] {repo}",
                "[what changed|which files changed] in {sha}?",
            )),
        ),
    ),
    Service(
        "jira", "Jira", ("in Jira", "on the Jira board", "in JIRA", "on jira"), 0.35,
        {
            "issue": Obj(
                "issue", "issues", "[ticket|issue|story|bug|task]", "[tickets|issues|stories|bugs]",
                ref="{jkey}-{pr}",
                new="in {jkey} [for|about|:] '{bug}'",
                fields=(("priority", "[high|low|critical|P1|P2]"), ("summary", "'{bug}'"),
                        ("story points", "{n}"), ("fix version", "{ver}"),
                        ("labels", "'[backend|frontend|customer|tech-debt]'")),
                query="[assigned to {Name}|with label '[backend|customer]'|in {jkey} about '{bug}'|reported {range}|that are [blocked|in review|open] in {jkey}]",
                has=" in a project, with a type, a summary and a description",
                keys="JQL: project, assignee, status, labels or text",
            ),
        },
        "issue:get,create,update,search",
        (
            ("assign_issue", "Assign an issue to a user.", (
                "assign {jkey}-{pr} to {Name}",
                "give [ticket|story] {jkey}-{pr} to {First}",
                "{Name} [will take|is taking|owns] {jkey}-{pr} now",
            )),
            ("transition_issue", "Move an issue to another status of its workflow.", (
                "move {jkey}-{pr} to [In Progress|Done|In Review|Blocked|QA]",
                "[mark|set] {jkey}-{pr} as [done|in progress|blocked]",
                "{jkey}-{pr} is [finished|ready for review], [update|change] its status",
            )),
            ("add_comment", "Add a comment to an issue.", (
                "[comment|add a note] on {jkey}-{pr}: {short}",
                "[write|leave|post] '{short}' on ticket {jkey}-{pr}",
            )),
            ("list_sprints", "List the sprints of a board: active, future and closed.", (
                "what sprints [are there|do we have] [on|for] the {jkey} board?",
                "[show|list] [upcoming|closed|all] sprints for {jkey}",
            )),
            ("start_sprint", "Start a future sprint with its dates and its goal.", (
                "[start|kick off|begin] [sprint|Sprint] {n} [on|for] {jkey}[| with the goal '{subject}']",
                "open the next sprint for the {team} board {day}",
            )),
            ("complete_sprint", "Complete the active sprint, moving unfinished issues to the next one.", (
                "[close|complete|end|wrap up] the current sprint [on|for] {jkey}",
                "sprint {n} is over, [finish|close] it and move what's left",
            )),
            ("log_work", "Log time spent on an issue.", (
                "[log|record|book] [2h|3 hours|45m|{n} hours] [on|against|to] {jkey}-{pr}",
                "I spent [an hour|{n}h] on {jkey}-{pr} {pastday}, [log|track] it",
            )),
            ("link_issues", "Link two issues, for example as 'blocks' or 'duplicates'.", (
                "[link|connect] {jkey}-{pr} [to|with] {jkey}-{pr2}[| as blocking| as a duplicate]",
                "{jkey}-{pr} [blocks|duplicates|relates to] {jkey}-{pr2}, [link|record] that",
            )),
            ("create_project", "Create a project with a key, a name and a lead.", (
                "[create|set up|make] a [new|] Jira project [called|named] '{proj}' with key {jkey}",
                "we need a new project for the {team} team, lead {Name}",
            )),
        ),
    ),
    Service(
        "crm", "the CRM", ("in the CRM", "in Salesforce", "on Salesforce", "in our CRM"), 0.35,
        {
            "contact": Obj(
                "contact", "contacts", "[contact|person|client|customer record|contact record]",
                "[contacts|people|clients|customer records]",
                ref="[{Name}|{Name} at {Company}|{email}]",
                new="[for|:] {Name} [at|from] {Company}[|, {email}|, phone {phone}]",
                fields=(("phone number", "{phone}"), ("email", "{email}"), ("job title", "'{title}'"),
                        ("company", "{Company}"), ("address", "{address}")),
                query="[at {Company}|named {First}|with a @{domain} email|in {city}|called {Last}]",
                has=" with a name, an email, a phone number and a company",
                keys="name, email, company or city",
            ),
            "deal": Obj(
                "deal", "deals", "[deal|opportunity|oppty|sale]", "[deals|opportunities|opptys|pipeline deals]",
                new="[with|for] {Company} worth {amount}[| closing {day}]",
                has=" with an account, an amount, a stage and a close date",
            ),
            "account": Obj(
                "account", "accounts", "[account|company|customer account]",
                ref="[{Company}|for {Company}]",
            ),
        },
        "contact:get,search,list,create,update,delete deal:create,list account:get",
        (
            ("merge_contacts", "Merge duplicate contacts into one record, keeping the newest details.", (
                "[merge|combine|dedupe|consolidate] the [duplicate|two] [records|contacts|entries] for {Name}",
                "{Name} [shows up|is in there|exists] twice, [merge|combine] [them|the records]",
                "[merge|join] {email} into {Name}'s contact",
            )),
            ("create_lead", "Create a lead: a prospect not yet qualified.", (
                "[add|log|create] a [new|] [lead|prospect] {Name} from {Company}[| who came in from the webinar| ({email})]",
                "{Name} at {Company} [is interested|wants a demo], [add|enter] them as a lead",
            )),
            ("convert_lead", "Convert a qualified lead into a contact, an account and a deal.", (
                "[convert|qualify|turn] the [lead|prospect] {Name} [into a contact|to a customer|into an opportunity]",
                "{Name} from {Company} is qualified, [convert|promote] the lead",
            )),
            ("update_deal_stage", "Move a deal to another stage of the pipeline.", (
                "[move|advance|push] the {Company} [deal|opportunity] to [Negotiation|Proposal|Closed Won|Closed Lost]",
                "[mark|set] the [deal|oppty] with {Company} as [won|lost|in negotiation]",
                "we [won|lost|signed] {Company}, [update|change] the deal stage",
            )),
            ("log_activity", "Log a call, meeting or email with a contact on their timeline.", (
                "[log|record|note] a [call|meeting|email] with {Name} [{pastday}|today|just now][| about {subject}]",
                "I [just|] [talked to|met with|called] {Name} at {Company}, [log|record] it",
            )),
        ),
    ),
    Service(
        "weather", "the weather service", ("",), 0.0, {}, "",
        (
            ("get_forecast", "Get the daily weather forecast for a place for the coming days: highs, lows and rain.", (
                "what's the weather [going to be|looking like] in {city} [this weekend|tomorrow|on {wday}|next week]?",
                "[will it|is it going to] [rain|snow] in {city} [on {wday}|this week|tomorrow]?",
                "[forecast|weather outlook] for {city} [for the next|over the next] [3|5|7|10] days",
            )),
            ("get_current_conditions", "Get the current weather conditions at a place: temperature, wind and humidity.", (
                "[how|what]'s the weather in {city} right now?",
                "is it [raining|cold|windy|hot] in {city} [right now|at the moment]?",
                "what's the temperature [outside|] in {city} at the moment",
            )),
            ("get_hourly_forecast", "Get the hour-by-hour forecast for the next 48 hours at a place.", (
                "[hour by hour|hourly] weather for {city} [today|tomorrow|this afternoon]",
                "will it rain in {city} at {time} [today|tomorrow]?",
                "what time does the rain [start|stop] in {city}?",
            )),
            ("get_air_quality", "Get the air quality index and the levels of pollutants at a place.", (
                "how's the air [quality|] in {city} [today|right now]?",
                "is the [smog|pollution|AQI] bad in {city}?",
                "[PM2.5|AQI|air pollution] [levels|reading] for {city}",
            )),
            ("get_alerts", "Get active severe weather alerts and warnings for a region.", (
                "[are there|any] [storm|weather|flood|heat] [warnings|alerts] [in|for] {city}?",
                "[is there|any] severe weather [warning|advisory] [around|near] {city} [today|this week]?",
            )),
            ("get_historical_weather", "Get past weather observations for a place and a date.", (
                "what was the weather [like|] in {city} {pastday}?",
                "how [much did it rain|cold was it|hot was it] in {city} {pastday}?",
            )),
            ("get_uv_index", "Get the UV index and sun protection advice at a place.", (
                "do I need sunscreen in {city} [today|tomorrow]?",
                "[how strong is the sun|what's the UV index|what's the UV level] in {city} [today|this afternoon]?",
            )),
            ("get_sunrise_sunset", "Get sunrise, sunset and hours of daylight at a place and a date.", (
                "[when|what time] is [sunrise|sunset] in {city} [tomorrow|on {date}|today]?",
                "how many hours of daylight will {city} [get|have] {day}?",
            )),
            ("get_pollen_count", "Get pollen levels by type (tree, grass, weed) at a place.", (
                "is the pollen [bad|high] in {city} [today|this week]?",
                "[pollen count|allergy forecast|hay fever outlook] for {city}",
            )),
        ),
    ),
    Service(
        "maps", "Maps", ("on the map", "in Maps", "with Google Maps"), 0.15, {}, "",
        (
            ("get_directions", "Get turn-by-turn directions between two places by car, transit, bike or on foot.", (
                "how do I get from {place} to {place2}[| by bus| by train| by bike| by car]?",
                "[directions|route] to {place2} from {place}",
                "[navigate|take me] to {address}",
            )),
            ("get_travel_time", "Get how long a trip between two places takes, with traffic.", (
                "how long [does it take|will it take] to [drive|get] from {place} to {place2}?",
                "[ETA|travel time] to {place2} [leaving|if I leave] at {time}",
            )),
            ("search_places", "Search places by name or kind in an area.", (
                "search for '{restaurant}' [in|around] {city}",
                "is there a {restaurant} in {city}?",
                "[look up|find] [bookstores|climbing gyms|vintage shops|museums] in {city}",
            )),
            ("find_nearby", "Find the nearest places of a kind around a point, by distance.", (
                "[where's|where is] the nearest [ATM|EV charger|post office|24h pharmacy|gas station]?",
                "[find|any] [a coffee shop|a pharmacy|a gas station|a gym] [near|around|close to] {place}",
            )),
            ("get_place_details", "Get a place's details: address, opening hours, phone number and rating.", (
                "[what time|when] does {restaurant} [open|close] [today|on {wday}]?",
                "[opening hours|phone number|rating|reviews] of {restaurant} [on {Street} {St}|in {city}]",
            )),
            ("geocode_address", "Convert a street address to latitude and longitude.", (
                "[what are the|get the] coordinates [of|for] {address}[, {city}|]",
                "[lat/long|latitude and longitude|GPS coordinates] for {address}",
            )),
            ("reverse_geocode", "Convert latitude and longitude to the nearest street address.", (
                "what's the address at {lat}, {lon}?",
                "[which|what] street is at {lat}, {lon}",
            )),
            ("get_traffic", "Get current traffic conditions and incidents on a road or a route.", (
                "how's traffic on [I-{n2}|the {Street} bridge|the highway to {place2}] [right now|now]?",
                "[is there|any] [accident|congestion|jam|road works] on the [way|route] to {place2}?",
            )),
            ("save_place", "Save a place to a list of favorites.", (
                "[save|bookmark|star] {restaurant} [in {city}|] [to my favorites|to my list|for later]",
                "add {address} to my saved places as '[home|work|gym|mom's]'",
            )),
        ),
    ),
    Service(
        "stripe", "Stripe", ("in Stripe", "on Stripe", "in stripe"), 0.4,
        {
            "payment": Obj(
                "payment", "payments", "[payment|charge|transaction]", "[payments|charges|transactions]",
                ref="[of {amount} from {Name}|{amount} from {Company} {pastday}|ch_{hex}]",
            ),
            "customer": Obj(
                "customer", "customers", "[customer|client|payer|buyer]",
                ref="[{Name}|{email}|cus_{hex}]",
                new="[for|:] {Name}, {email}",
                fields=(("billing email", "{email}"),
                        ("card", "[a new Visa|the Amex ending {n4}|the card ending {n4}]"),
                        ("billing address", "{address}"), ("tax id", "EU{n6}")),
                has=" with an email, a name and a payment method",
            ),
            "subscription": Obj(
                "subscription", "subscriptions", "[subscription|plan|membership|recurring plan]",
                ref="[for {Name}|of {Company}|sub_{hex}]",
                new="[for|:] {Name} on the [Pro|Team|Basic|Enterprise] plan[ monthly| yearly|]",
                fields=(("plan", "[Pro|Team|Basic|Enterprise]"), ("quantity", "{n} seats"),
                        ("billing cycle", "[monthly|annual]")),
                has=" for a customer, on a price, billed every period",
            ),
            "invoice": Obj(
                "invoice", "invoices", "[invoice|bill]", "[invoices|bills]",
                new="[for|to] {Company} [for|of] {amount}[| due {day}]",
                has=" for a customer, with line items and a due date",
            ),
        },
        "payment:get,list customer:create,get,update subscription:create,update invoice:create,list",
        (
            ("refund_payment", "Refund a payment in full or in part to the original card.", (
                "[refund|give back|reverse] {amount} [to|for] {Name}[| for the duplicate charge]",
                "{Name} was [charged twice|overcharged], refund [the charge|the payment][ of {amount}|]",
                "[issue|process] a refund on ch_{hex}",
            )),
            ("cancel_subscription", "Cancel a subscription now or at the end of its period.", (
                "[cancel|stop|end|terminate] {Name}'s [subscription|plan|membership][| at the end of the month| immediately]",
                "{Company} wants to [churn|cancel|stop paying], [cancel|end] their [subscription|plan]",
            )),
            ("send_invoice", "Email an invoice to the customer with a link to pay it.", (
                "[send|email] [invoice|the bill] INV-{n5} to {Company}",
                "[resend|send] {Name} their invoice [again|for {month}]",
            )),
            ("void_invoice", "Void a finalized invoice so that it can no longer be paid.", (
                "[void|cancel|invalidate] [invoice|bill] INV-{n5}",
                "INV-{n5} was [a mistake|sent in error], [void|kill] it",
            )),
            ("get_balance", "Get the account balance: available and pending funds.", (
                "[how much money|what balance] do we have in [Stripe|our account] [right now|]?",
                "what's [our|the] [available|pending] balance?",
            )),
            ("create_payout", "Pay out available funds to the bank account.", (
                "[pay out|transfer|send] {amount} to [our|the] bank [account|]",
                "[withdraw|move] the [available|whole] balance to [the bank|our bank account]",
            )),
        ),
    ),
    Service(
        "shopify", "the Shopify store", ("in Shopify", "on the store", "in the shop", "on shopify"), 0.35,
        {
            "order": Obj(
                "order", "orders", "[order|purchase]", "[orders|purchases|sales]",
                ref="[#{n4}|#{n4} from {Name}|{Name}'s [last|latest] order]",
            ),
            "product": Obj(
                "product", "products", "[product|item|listing]", "[products|items|listings]",
                ref="[{product}|SKU-{n5}]",
                new="[called|named] '{product}' [at|for|priced] {amount}",
                fields=(("price", "{amount}"), ("title", "'{product}'"), ("description", "'{short}'"),
                        ("tags", "'[sale|summer|new]'")),
                has=" with a title, a price, variants and images",
            ),
        },
        "order:get,list product:create,update,list",
        (
            ("cancel_order", "Cancel an unfulfilled order and restock its items.", (
                "[cancel|void|stop] [order|] #{n4}[| before it ships]",
                "{Name} [doesn't want|changed their mind about] order #{n4}, cancel it",
            )),
            ("fulfill_order", "Mark an order fulfilled with its tracking number, emailing the customer.", (
                "[fulfill|ship|mark shipped] order #{n4}[| with tracking 1Z{hex}]",
                "#{n4} [went out|shipped] [today|] via [UPS|FedEx|USPS], tracking 1Z{hex}",
            )),
            ("refund_order", "Refund all or some of the items of an order.", (
                "[refund|give money back for] order #{n4}[| in full| for the {product}]",
                "{Name} returned the {product} from #{n4}, [refund|credit] them",
            )),
            ("update_inventory", "Set or adjust the stock level of a product variant at a location.", (
                "[set|change|update] [stock|inventory] [of|for] {product} to {n3}[| at the {city} warehouse]",
                "we [got|received] {n3} more {product}, [add|update] [stock|inventory]",
                "[only {n} left|out of stock] on {product}, [fix|update] the [count|inventory]",
            )),
            ("create_discount", "Create a discount code with an amount or a percentage off.", (
                "[make|create|set up] a [discount|promo|coupon] code [{CODE}|] for [{pct}% off|{amount} off][| everything| {product}]",
                "[I want|let's do] a [{pct}%|{amount}] [discount|coupon] code [called|] {CODE}",
            )),
            ("list_abandoned_carts", "List checkouts that customers started and did not complete.", (
                "[who|which customers] [left|abandoned] [their carts|checkouts] {range}?",
                "[show|list] [abandoned|unfinished] [carts|checkouts][| over {amount}]",
            )),
            ("get_customer", "Get a store customer: contact details, order count and total spent.", (
                "[how much has|what has] {Name} [spent|ordered] [in|at] the [store|shop]?",
                "[pull up|show] the [store|shop] customer {email}",
            )),
        ),
    ),
    Service(
        "zendesk", "Zendesk", ("in Zendesk", "in the helpdesk", "on the support desk", "in zendesk"), 0.35,
        {
            "ticket": Obj(
                "ticket", "tickets", "[ticket|support ticket|case|request]",
                "[tickets|support tickets|cases|requests]",
                ref="[#{n5}|#{n5} from {Name}|from {Name} about {problem}]",
                new="[for|from] {Name} about {problem}",
                fields=(("priority", "[urgent|high|normal|low]"),
                        ("type", "[incident|problem|question|task]"),
                        ("tags", "'[billing|login|refund|vip]'"), ("subject", "'{problem}'")),
                query="[from {Name}|about {problem}|tagged '[billing|vip]'|from {Company} {range}]",
                has=" with a requester, a subject and a description",
                keys="requester, status, tags or words",
            ),
        },
        "ticket:create,get,update,search,list",
        (
            ("assign_ticket", "Assign a ticket to an agent or a group.", (
                "assign [ticket|case] #{n5} to {Name}",
                "[give|route|hand] #{n5} to [the {team} group|{First}]",
            )),
            ("close_ticket", "Mark a ticket solved and close it.", (
                "[close|solve|resolve] [ticket|case] #{n5}",
                "#{n5} is [sorted|done|fixed], [close|mark] it[ solved|]",
            )),
            ("reopen_ticket", "Reopen a solved ticket.", (
                "[reopen|re-open] [ticket|case] #{n5}",
                "{Name} [says|wrote back that] the {problem} [is back|still happens], reopen [their ticket|#{n5}]",
            )),
            ("reply_to_ticket", "Post a public reply to the requester on a ticket.", (
                "[reply|respond|answer] to [ticket|] #{n5}[:| saying] {short}",
                "[tell|write to] {Name} on [their ticket|#{n5}] that {short}",
            )),
            ("add_internal_note", "Add a private note to a ticket that only agents see.", (
                "[add|leave|put] an [internal|private] note on #{n5}: {short}",
                "note [privately|internally] on [ticket|] #{n5} that {short}",
            )),
            ("merge_tickets", "Merge duplicate tickets into one.", (
                "merge [tickets|] #{n5} [and|into] #{n5b}",
                "#{n5} and #{n5b} are [the same issue|duplicates], [merge|combine] them",
            )),
            ("get_satisfaction_ratings", "Get customer satisfaction (CSAT) ratings for a period.", (
                "[what's|how's] our [CSAT|satisfaction score|customer satisfaction] {range}?",
                "[show|pull] the [satisfaction ratings|csat scores][ for the {team} team|] {range}",
            )),
        ),
    ),
    Service(
        "drive", "Google Drive", ("in Drive", "on Google Drive", "in my drive", "on drive"), 0.4,
        {
            "file": Obj(
                "file", "files", "[file|document|doc]", "[files|documents|docs]",
                ref="{file}",
                query="[named '{filebase}'|about {subject}|shared by {Name}|modified {range}|in {folder}]",
                keys="name, type, owner or words in it",
            ),
            "folder": Obj(
                "folder", "folders", "[folder|directory]",
                new="[called|named] '{folder}'[| inside {folder2}|]",
                has=" with a name, inside a parent folder",
            ),
        },
        "file:get,search,list,delete folder:create",
        (
            ("upload_file", "Upload a local file into a Drive folder.", (
                "[upload|put|save|back up] {file} [to|in] [Drive|{folder}]",
                "[add|drop] {file} into the {folder} folder",
            )),
            ("download_file", "Download a file from Drive to this device.", (
                "[download|grab a copy of|save locally] {file}[| from Drive]",
                "I need {file} [on my laptop|offline], download it",
            )),
            ("share_file", "Share a file or a folder with people and set their role.", (
                "[share|send access to] {file} [with|to] {Name}[| as editor| view only]",
                "give {email} [edit|view|comment] access to {file}",
            )),
            ("move_file", "Move a file into another folder.", (
                "[move|put|file] {file} [into|to] the {folder} folder",
                "{file} belongs in {folder}, move it",
            )),
            ("rename_file", "Rename a file.", (
                "rename {file} to '{filebase2}'",
                "[change|fix] the name of {file} to {filebase2}",
            )),
            ("restore_file", "Restore a file from the trash.", (
                "[restore|recover|undelete|bring back] {file} from [the trash|the bin]",
                "I [deleted|trashed] {file} by mistake, [get it back|restore it]",
            )),
            ("copy_file", "Make a copy of a file.", (
                "[copy|duplicate|clone] {file}[| into {folder}]",
                "make a copy of {file} [for {Name}|named '{filebase2}']",
            )),
        ),
    ),
    Service(
        "docs", "Google Docs", ("in Google Docs", "in Docs", "in gdocs"), 0.3,
        {
            "document": Obj(
                "document", "documents", "[doc|document|write-up|google doc]", "[docs|documents|write-ups]",
                ref="'{doc}'",
                new="[called|named|titled] '{doc}'[| for the {team} team]",
                has=" with a title, from a template or blank",
            ),
        },
        "document:create,get,list",
        (
            ("append_text", "Add text at the end of a document.", (
                "[add|append|tack on] [a line|a paragraph|'{short}'] [to|at the end of] the {doc} doc",
                "[write|put] '{short}' at the bottom of '{doc}'",
            )),
            ("replace_text", "Find and replace text everywhere in a document.", (
                "[replace|change|swap] '{word}' [with|to|for] '{word2}' [in|throughout] the '{doc}' [doc|document]",
                "[in|across] '{doc}', [rename|replace] every [mention of|] {Company} [with|to] {Company2}",
            )),
            ("export_document", "Export a document as PDF, Word or plain text.", (
                "[export|save|download] '{doc}' as [a PDF|pdf|Word|docx|plain text]",
                "I need a [PDF|Word] version of the {doc} doc",
            )),
            ("add_comment", "Comment on a passage of a document.", (
                "[comment|leave a comment|add a note] on the '{doc}' doc[:| saying] {short}",
                "[flag|comment on] the [intro|second paragraph|pricing section] of '{doc}': {short}",
            )),
            ("share_document", "Share a document with people as viewers, commenters or editors.", (
                "share the '{doc}' doc with {Name}[| as an editor]",
                "let {Name} [edit|comment on|view] '{doc}'",
            )),
        ),
    ),
    Service(
        "sheets", "Google Sheets", ("in Sheets", "in the spreadsheet", "in Google Sheets"), 0.3, {}, "",
        (
            ("create_spreadsheet", "Create a new spreadsheet with a title.", (
                "[create|make|start] a [new|] [spreadsheet|sheet|google sheet] [called|named|for] '[{team} budget|{subject} tracker|{month} expenses]'",
            )),
            ("read_range", "Read the values in a range of cells.", (
                "what's in [cell|] {cell} [in|on] the '{sheet}' [sheet|tab]?",
                "[get|show|read] {cells} [of|from] '{sheet}'",
            )),
            ("write_range", "Write values into a range of cells, replacing what is there.", (
                "[put|write|set|enter] {n3} [in|into] [cell|] {cell} [of|on] '{sheet}'",
                "[fill|overwrite] {cells} in '{sheet}' with [the new numbers|{month}'s totals|zeros]",
            )),
            ("append_row", "Append a row after the last row with data.", (
                "[add|append|insert] a [new|] row [to|at the bottom of] '{sheet}': {Name}, {amount}, {date}",
                "[log|record] {amount} [for|from] {Name} as a new line in the {sheet} sheet",
            )),
            ("clear_range", "Clear the values of a range, keeping its formatting.", (
                "[clear|empty|wipe|blank out] [cells|] {cells} [in|on] '{sheet}'",
                "[erase|remove] [the|all the] [values|data|numbers] in [column {col}|row {n}] of '{sheet}'[ but keep the formatting|]",
            )),
            ("add_sheet", "Add a new tab to a spreadsheet.", (
                "[add|create|insert] a [new|] [tab|sheet|worksheet] [called|named] '{month}' [to|in] '{sheet}'",
            )),
            ("sort_range", "Sort the rows of a range by a column.", (
                "sort '{sheet}' by [column {col}|{sortkey}][ ascending| descending| A to Z| largest first|]",
                "[order|arrange] the rows [in|of] '{sheet}' by {sortkey}",
            )),
            ("create_chart", "Create a chart from a range of data.", (
                "[make|create|insert|draw] a [bar|line|pie] [chart|graph] [of|from] {cells} [in|on] '{sheet}'",
                "[chart|graph|plot|visualize] {sortkey} [by|per] month from '{sheet}'",
            )),
            ("find_replace", "Find and replace text in every cell of a spreadsheet.", (
                "[replace|swap] every '{word}' with '{word2}' in the '{sheet}' [sheet|spreadsheet]",
                "[find and replace|change all] {Company} [to|with] {Company2} in '{sheet}'",
            )),
        ),
    ),
    Service(
        "zoom", "Zoom", ("on Zoom", "in Zoom", "on zoom"), 0.6,
        {
            "meeting": Obj(
                "meeting", "meetings", "[meeting|call|zoom|zoom call|session]", "[meetings|calls|zooms]",
                ref="['{meeting}' {day}|with {Name} at {time} {day}|ID {n3} {n4} {n4b}]",
                new="[with {Name}|for '{meeting}'] {day} at {time}[| for 30 minutes| for an hour| for 90 minutes]",
                fields=(("start time", "{time}"), ("topic", "'{meeting}'"),
                        ("duration", "[30|45|90] minutes"), ("passcode", "{n6}")),
                has=" with a topic, a start time, a duration and a join link",
            ),
            "recording": Obj(
                "recording", "recordings", "[recording|video|cloud recording]",
                "[recordings|videos|cloud recordings]",
                ref="[of '{meeting}' {pastday}|from {Name}'s {meeting}]",
            ),
        },
        "meeting:create,get,update,delete,list recording:list,get",
        (
            ("add_registrant", "Register a person for a meeting or a webinar.", (
                "[register|sign up|add] {Name} [for|to] the [webinar|{meeting}][| {day}]",
                "[register|enroll] {email} in the {meeting} [webinar|session]",
            )),
            ("end_meeting", "End a meeting in progress for everyone.", (
                "[end|stop|close] the [zoom|meeting|call] [for everyone|now|that's running]",
                "[kill|shut down] the {meeting} call[ right now|, it's still running]",
            )),
            ("get_participants", "Get who attended a past meeting, with join and leave times.", (
                "who [joined|attended|was on] the {meeting} [call|zoom] {pastday}?",
                "[list|show] [attendees|participants] [of|from] '{meeting}' {pastday}",
            )),
        ),
    ),
    Service(
        "twilio", "Twilio", ("via Twilio", "with Twilio", "through twilio"), 0.25, {}, "",
        (
            ("send_sms", "Send a text message (SMS) to a phone number.", (
                "[text|send an SMS to|send a text to] {phone}[:| saying] {short}",
                "[text|SMS] {Name} at {phone} that {short}",
            )),
            ("send_whatsapp_message", "Send a WhatsApp message to a phone number.", (
                "[whatsapp|send a whatsapp to|message on whatsapp] {phone}[:| saying] {short}",
            )),
            ("make_call", "Place a phone call that plays a message or connects two numbers.", (
                "[call|ring|phone] {phone} and [say|play] '{short}'",
                "[place|make] [an automated|a] call to {Name} at {phone}",
            )),
            ("get_message_status", "Get whether a sent message was queued, delivered or failed.", (
                "did the text to {phone} [go through|get delivered|fail]?",
                "[delivery status|status] of [the|my] [SMS|message] [to|for] {Name}",
            )),
            ("list_messages", "List the messages a number sent and received over a period.", (
                "[show|list] [all|] [texts|SMS messages|messages] [sent to|from] {phone} {range}",
                "what [texts|messages] did we [send|get] {range}?",
            )),
            ("buy_phone_number", "Buy a phone number with a given area code or country.", (
                "[buy|get|provision|rent] a [new|] [phone number|number|local number] [in {city}|with area code {areacode}]",
                "we need a [toll-free|{city}] number [for support|for the {team} line]",
            )),
            ("send_verification_code", "Send a one-time verification code by SMS or call.", (
                "[send|text] {phone} a [verification|one-time|OTP|2FA] code",
                "[verify|confirm] {Name}'s [phone|number] {phone} [with a code|by SMS]",
            )),
            ("check_verification_code", "Check the one-time code a user entered.", (
                "[is|check if] [the|] code {n6} [is valid|is correct|is right] for {phone}",
                "{Name} entered {n6}, [verify|check] [it|the code]",
            )),
        ),
    ),
    Service(
        "notion", "Notion", ("in Notion", "on Notion", "in our wiki", "in notion"), 0.4,
        {
            "page": Obj(
                "page", "pages", "[page|note|notion page|doc]", "[pages|notes|docs]",
                ref="'{doc}'",
                new="[called|titled] '{doc}'[| under {team}|]",
                fields=(("title", "'{doc2}'"), ("icon", "[a rocket|:memo:|a star]"),
                        ("status", "[Done|In progress|Draft]")),
                query="[about {subject}|mentioning {Company}|titled '{doc}'|edited by {Name} {range}]",
                has=" with a title and content, under a parent page",
                keys="title or words in it",
            ),
            "database": Obj(
                "database", "databases", "[database|table|tracker|board]",
                new="[called|for] '[{team} OKRs|Reading list|Customer feedback|Hiring pipeline]'[| with Status and Owner columns]",
                has=" with properties (columns) of chosen types",
            ),
        },
        "page:create,get,update,search,delete database:create",
        (
            ("query_database", "Query the rows of a database with filters and sorts.", (
                "[show|list|find|filter] [rows|entries|items] in the '[{team} tasks|Hiring pipeline|Bug tracker]' [database|board|table] [where|with] [Status is Done|Owner is {Name}|due {range}]",
                "which [items|tasks|candidates] in '[Hiring pipeline|{team} tasks]' are [overdue|in progress|assigned to {Name}]?",
            )),
            ("add_database_item", "Add a row to a database with values for its properties.", (
                "[add|create|insert] [a row|an entry|an item|a card] [in|to] the '[Reading list|{team} tasks|Bug tracker|Hiring pipeline]' [database|board|table]: '{subject}'[| owner {Name}| due {day}]",
                "put '{subject}' [on|into] the '[{team} tasks|Content calendar]' [board|tracker]",
            )),
            ("append_block", "Append content blocks (text, to-dos, headings) to a page.", (
                "[add|append] a [to-do|checklist item|heading|paragraph|bullet] [to|at the end of] '{doc}': {short}",
                "[jot|write] '{short}' [at the bottom of|into] the {doc} [page|note]",
            )),
            ("share_page", "Share a page with people or publish it to the web.", (
                "share the '{doc}' [page|note] with {Name}",
                "[publish|make public] '{doc}' [to the web|with a link]",
            )),
        ),
    ),
    Service(
        "hr", "the HR system", ("in BambooHR", "in the HR system", "in HR", "in workday"), 0.3,
        {
            "employee": Obj(
                "employee", "employees", "[employee|staff member|team member|hire]",
                "[employees|staff|team members|people]",
                ref="[{Name}|{Name} in {team}|#E{n4}]",
                new="[for|:] {Name}[, starting {day}|] as {title}[ in {team}|]",
                fields=(("job title", "'{title}'"), ("manager", "{Name2}"), ("salary", "{amount}"),
                        ("department", "{team}"), ("home address", "{address}"),
                        ("start date", "{date}")),
                query="[in {team}|named {First}|reporting to {Name2}|based in {city}|hired {range}]",
                has=" with a name, a job title, a manager and a start date",
                keys="name, department, manager or location",
            ),
        },
        "employee:get,search,create,update",
        (
            ("terminate_employee", "Record an employee's termination with the last day and the reason.", (
                "[offboard|terminate|let go|process the exit of] {Name}[, last day {date}|]",
                "{Name} [resigned|is leaving|quit], [last day|final day] {date}. [offboard them|record the termination]",
            )),
            ("request_time_off", "Request time off for dates and a type: vacation, sick or personal.", (
                "[book|request|put in for] [vacation|PTO|a day off|time off|sick leave] [from {date} to {date2}|{day}|next week]",
                "I'm [sick|out] {day}, [log|request] [a sick day|time off]",
                "[take|I want] [{n} days|a week] [off|of leave] starting {date}",
            )),
            ("approve_time_off", "Approve or deny a time-off request.", (
                "[approve|OK|sign off on|deny|reject] {Name}'s [vacation|PTO|time off|leave] [request|][ for {date}|]",
                "{Name} asked for [{date} off|leave next week]: [approve|accept|decline] it",
            )),
            ("get_time_off_balance", "Get how many days of each type of time off a person has left.", (
                "how many [vacation|PTO|sick|holiday] days [do I have|does {Name} have] [left|remaining]?",
                "[what's|check] [my|{Name}'s] [PTO|leave|vacation] balance",
            )),
            ("list_time_off_requests", "List time-off requests by person, status or dates.", (
                "who's [out|off|on vacation] {range}?",
                "[show|list] [pending|all] [leave|time off|PTO] requests[ for the {team} team|]",
            )),
            ("get_org_chart", "Get the reporting lines under a manager or of a department.", (
                "who reports to {Name}?",
                "[show|get|pull up] the [org chart|reporting structure|team tree] [for|of] [{team}|{Name}]",
                "who is {Name}'s [manager|boss]?",
            )),
            ("get_payslip", "Get a pay stub for a pay period.", (
                "[show|send|get] me [my|{Name}'s] [payslip|pay stub|paycheck breakdown] for {month}",
                "how much [tax was withheld|did I get paid] [in|on] my {month} [paycheck|payslip]?",
            )),
            ("run_payroll", "Run payroll for a pay period after review.", (
                "[run|process|submit] payroll for [{month}|this pay period|the {date} cycle]",
                "[pay|kick off payroll for] everyone for [the second half of {month}|{month}]",
            )),
        ),
    ),
    Service(
        "expensify", "Expensify", ("in Expensify", "on Expensify", "in expenses"), 0.35,
        {
            "expense": Obj(
                "expense", "expenses", "[expense|receipt|cost|charge]", "[expenses|receipts|costs]",
                new="[of|for] {amount} [for|at] [lunch with {Name}|a taxi to {place2}|{restaurant}|the {city} hotel|office supplies][| {pastday}]",
                has=" with an amount, a merchant, a date and a category",
            ),
            "report": Obj(
                "report", "reports", "[expense report|report|claim]", "[expense reports|reports|claims]",
                ref="['{city} trip'|for {month}|#{n5}|from {Name}]",
                new="['{city} trip {month}'|for {month}|for the {Company} visit]",
                has=" grouping expenses for one trip or period",
            ),
        },
        "expense:create,list report:create,get",
        (
            ("submit_report", "Submit an expense report for approval.", (
                "[submit|send in|file] [my|the] [expense report|report|claim] ['{city} trip'|for {month}]",
                "[I'm done with|finished] my {city} [expenses|trip report], [submit|send] it [to {Name}|for approval]",
            )),
            ("approve_report", "Approve an expense report submitted to you.", (
                "[approve|OK|sign off on] {Name}'s [expense report|expenses|claim] [for {month}|'{city} trip']",
            )),
            ("reject_report", "Reject an expense report with a reason.", (
                "[reject|decline|send back] {Name}'s [expense report|claim][ for {month}|] [because|:] [the receipts are missing|{amount} is over the limit|it's a personal expense]",
            )),
            ("upload_receipt", "Upload a receipt image and read its amount and merchant.", (
                "[upload|scan|attach|add] [this|the|my] receipt from {restaurant}[| for {amount}]",
                "here's a [photo|picture|pdf] of my [taxi|hotel|dinner] receipt, [upload|scan] it",
            )),
            ("get_reimbursement_status", "Get whether an expense report has been reimbursed, and when.", (
                "[when will I get|have I been] [paid back|reimbursed] for the {city} trip?",
                "[status of|where's] my reimbursement for [{month}|report #{n5}]",
            )),
        ),
    ),
    Service(
        "travel", "the travel booking tool", ("",), 0.0, {}, "",
        (
            ("search_flights", "Search flights between airports on given dates, with prices.", (
                "[find|search|look for|any] flights from {airport} to {airport2} [on|around] {date}[| under {amount}| returning {date2}]",
                "how much is a [flight|ticket|round trip] [from {city} to {city2}|to {city2}] {day}?",
            )),
            ("book_flight", "Book a flight for a traveller and pay for it.", (
                "[book|reserve|get me] [a seat on|] {flight} {day}",
                "[book|buy] the {time} flight [from {airport} to {airport2}|to {city2}] {day}[ for {Name}|]",
            )),
            ("get_flight_status", "Get a flight's status: on time or delayed, its gate and its times.", (
                "is {flight} [on time|delayed|cancelled]?",
                "[what gate does|when does] {flight} [leave from|land|depart|arrive]?",
                "[status|any delays] [of|on] {flight}[ today|]",
            )),
            ("change_flight", "Change a booked flight to another date or time.", (
                "[change|move|switch|rebook] my flight [to {city2}|{flight}] to {date}[ at {time}|]",
                "can I [take|switch to] a [later|earlier] flight [home|to {city2}] {day}?",
            )),
            ("check_in", "Check in for a flight and get the boarding pass.", (
                "check me in [for|on] {flight}",
                "[do|get] [online|] check-in for my flight [to {city2}|{day}][| and send the boarding pass]",
            )),
            ("cancel_booking", "Cancel a flight, hotel or car booking.", (
                "[cancel|scrap|call off] my [booking|reservation|trip] [{conf}|to {city2}]",
                "I'm not going to {city2} {day} anymore, cancel [the booking|the reservation|everything]",
            )),
            ("get_booking", "Get a booking's details by its confirmation code.", (
                "[show|pull up|what are the details of] [booking|reservation|confirmation] {conf}",
                "[what's|show me] my [itinerary|booking] for the {city2} trip",
            )),
            ("search_hotels", "Search hotels in a city for given dates, with prices.", (
                "[find|search for|any] [hotels|a hotel|places to stay|rooms] in {city2} [from {date} to {date2}|for {n} nights][| under {amount} a night| near {place}]",
            )),
            ("book_hotel", "Book a hotel room for given dates.", (
                "[book|reserve] [a room|{n} nights] at the [Hilton|Marriott|Hyatt|Ace Hotel|{city2} Grand][ in {city2}|] [from {date}|for {date}]",
            )),
            ("search_car_rentals", "Search rental cars at a place for given dates.", (
                "[find|any|look for] [a rental car|car rentals|a car to rent] [at|in|near] [{airport2}|{city2}] [from {date} to {date2}|for {n} days]",
            )),
            ("book_car_rental", "Reserve a rental car.", (
                "[book|reserve|rent] [an SUV|a compact|a minivan|an electric car] [at|from] {airport2} [for|from] {date}[| to {date2}]",
            )),
        ),
    ),
    Service(
        "aws", "AWS", ("on AWS", "in AWS", "in the cloud account", "in aws"), 0.35,
        {
            "instance": Obj(
                "instance", "instances", "[instance|server|VM|box|EC2 instance|machine]",
                "[instances|servers|VMs|boxes|EC2 instances|machines]",
            ),
            "bucket": Obj(
                "bucket", "buckets", "[bucket|S3 bucket]", "[buckets|S3 buckets]",
                new="[called|named] {bucket}[| in {region}|]",
                has=" in a region, with its access settings",
            ),
        },
        "instance:list bucket:list,create",
        (
            ("start_instance", "Start a stopped EC2 instance.", (
                "[start|boot|spin up|power on|bring up] [the|] [{instance}|{iid}][ instance| server| box|]",
                "{instance} is [down|stopped], start it [again|back up|]",
            )),
            ("stop_instance", "Stop a running EC2 instance.", (
                "[stop|shut down|power off|turn off] [the|] [{instance}|{iid}][ instance| server| VM|]",
                "we don't need {instance} [tonight|over the weekend], stop it",
            )),
            ("reboot_instance", "Reboot an EC2 instance.", (
                "[reboot|restart|bounce|power cycle] [the|] [{instance}|{iid}][ server| instance| box|]",
                "{instance} is [hung|frozen|unresponsive], [reboot|restart] it",
            )),
            ("create_snapshot", "Snapshot an instance's disk volume for backup.", (
                "[snapshot|back up|take a snapshot of] [the disk of|the volume on|] {instance}[| before the upgrade]",
            )),
            ("get_instance_metrics", "Get the CPU, memory and network metrics of an instance over a period.", (
                "[what's|how's] [the CPU|CPU usage|memory|network traffic] on {instance} {range}?",
                "[is|was] {instance} [maxed out|running hot|overloaded] {range}?",
            )),
            ("upload_object", "Upload a file to an S3 bucket.", (
                "[upload|put|copy|push] {file} [to|into] [s3://{bucket}|the {bucket} bucket]",
            )),
            ("delete_object", "Delete a file from an S3 bucket.", (
                "[delete|remove] {file} from [s3://{bucket}|the {bucket} bucket]",
            )),
            ("get_cost", "Get the AWS bill so far, by service or period.", (
                "how much [are we spending|did we spend|is AWS costing us] {range}?",
                "[AWS|cloud] [bill|costs|spend][ by service|] for {month}",
            )),
            ("set_alarm", "Create a CloudWatch alarm on a metric with a threshold.", (
                "[alert|page] [me|us] [if|when] [CPU|disk|memory] on {instance} [goes over|tops|is above] {pct}%",
                "[set|create] a [CloudWatch|] alarm [for|on] {instance} [at|above] {pct}% CPU",
            )),
        ),
    ),
    Service(
        "kubernetes", "Kubernetes", ("in k8s", "on the cluster", "in kubernetes", "on k8s"), 0.35, {}, "",
        (
            ("list_pods", "List the pods of a namespace with their status.", (
                "[list|show] [the|] pods [running|] in [the|] {ns}[ namespace|]",
                "[which|any] pods [crashing|pending|failing] in {ns}?",
            )),
            ("get_pod_logs", "Get the logs of a pod's container.", (
                "[show|get|tail|print] [the|] logs [of|for|from] {pod}[ in {ns}|]",
                "why is {pod} [crashing|failing]? [check|show me] the logs",
            )),
            ("restart_deployment", "Restart a deployment's pods one by one (a rolling restart).", (
                "[restart|bounce|roll|cycle] the {svc} deployment[ in {ns}|]",
                "do a rolling restart of {svc}[ in {ns}|]",
            )),
            ("scale_deployment", "Set the number of replicas of a deployment.", (
                "scale {svc} [to|up to|down to] {n} [replicas|pods|instances][ in {ns}|]",
                "[we need|give me] {n} [copies|replicas] of {svc}[ running|][ in {ns}|]",
            )),
            ("rollback_deployment", "Roll a deployment back to its previous revision.", (
                "[roll back|revert|undo] [the|] {svc} [deployment|rollout|deploy][| in {ns}]",
                "the new {svc} [release|version] is broken, [go back|roll back] to the [last|previous] [one|revision]",
            )),
            ("get_deployment_status", "Get a deployment's rollout status and its ready replicas.", (
                "is the {svc} [rollout|deploy|deployment] [finished|done|healthy|complete][ in {ns}|]?",
                "[how many|are all] {svc} [replicas|pods] [ready|up][ in {ns}|]?",
            )),
            ("delete_pod", "Delete a pod so that its controller recreates it.", (
                "[delete|kill|remove|nuke] [pod|] {pod}[ in {ns}|]",
                "{pod} is stuck, [delete|kill] it",
            )),
            ("apply_manifest", "Apply a YAML manifest to the cluster.", (
                "[apply|kubectl apply|deploy] [the|] {manifest}[ to {ns}|]",
                "[push|roll out] the [config|manifest] {manifest} [to the cluster|in {ns}]",
            )),
            ("get_events", "Get recent cluster events in a namespace: scheduling, image pulls and failures.", (
                "[what|any] [events|warnings] in {ns} {range}?",
                "[show|get] [cluster|kube] events [for {svc}|in {ns}]",
            )),
            ("list_services", "List the services of a namespace with their addresses and ports.", (
                "[list|show] [the|] services [in|exposed in] {ns}",
                "what [port|IP|address] is the {svc} service [on|at|exposed on]?",
            )),
        ),
    ),
    Service(
        "pagerduty", "PagerDuty", ("in PagerDuty", "on PagerDuty", "in pagerduty"), 0.35, {}, "",
        (
            ("create_incident", "Open an incident and page the on-call responders.", (
                "[page|alert|wake up] [the on-call|whoever's on call] [about|for|:] {svc} [is down|errors|latency]",
                "[open|create|declare|raise] an incident: {svc} [is down|outage|returning 500s][ in {region}|]",
            )),
            ("acknowledge_incident", "Acknowledge an incident so that it stops escalating.", (
                "[ack|acknowledge] [incident|] #{n4}",
                "I'm [on it|looking at] [incident #{n4}|the {svc} page], [ack|acknowledge] it",
            )),
            ("resolve_incident", "Resolve an incident.", (
                "[resolve|close] [incident|] #{n4}[|, it's fixed]",
                "{svc} is [back up|recovered|fixed], [resolve|close] the incident",
            )),
            ("list_incidents", "List incidents by status, service or period.", (
                "[what|which] incidents [are open|fired|happened] {range}?",
                "[list|show] [open|triggered|all] incidents for {svc}",
            )),
            ("get_on_call", "Get who is on call for a schedule, now or at a given time.", (
                "who's on call [for {svc}|for {team}|right now|this weekend|tonight]?",
                "[which|what] engineer [has the pager|is on call][ for {team}|] {day}?",
            )),
            ("escalate_incident", "Escalate an incident to the next level of responders.", (
                "[escalate|bump] [incident|] #{n4} [to the next level|to the manager|up]",
                "nobody's [answering|responded] on #{n4}, escalate it",
            )),
            ("add_note", "Add a note to an incident's timeline.", (
                "[add|post|log] a note [to|on] [incident|] #{n4}: {short}",
                "[note|record] on #{n4} that {short}",
            )),
            ("snooze_incident", "Snooze an incident for a while.", (
                "[snooze|mute|silence] [incident|] #{n4} for [an hour|{n} hours|30 minutes]",
            )),
        ),
    ),
    Service(
        "datadog", "Datadog", ("in Datadog", "on Datadog", "in DD"), 0.35, {}, "",
        (
            ("query_metrics", "Query a metric's time series over a period.", (
                "[graph|show|plot] [the|] {metric} [of|for] {svc} {range}",
                "[what's|how's] {svc}'s {metric} [looking|been] {range}?",
            )),
            ("create_monitor", "Create a monitor that alerts when a metric crosses a threshold.", (
                "[create|set up|add] a monitor [for|on] {svc} {metric} [above|over|at] [{pct}%|{n3} ms]",
                "[alert|notify] {channel} when {svc} {metric} [spikes|goes above] [{pct}%|{n3}ms]",
            )),
            ("mute_monitor", "Mute a monitor for a while, for example during maintenance.", (
                "[mute|silence|pause] the {svc} [monitor|alerts] [for|until] [an hour|{time}|the maintenance window|tomorrow]",
            )),
            ("list_monitors", "List monitors and their states.", (
                "[which|what] monitors are [alerting|in alert|red|firing] [right now|]?",
                "[list|show] [all|] the monitors [for|on] {svc}",
            )),
            ("search_logs", "Search logs by query, service and period.", (
                "[search|grep|find|look through] [the|] logs [of|for] {svc} [for|containing] '[timeout|500|OutOfMemory|connection refused]' {range}",
                "[any|were there] [errors|exceptions] in the {svc} logs {range}?",
            )),
            ("create_dashboard", "Create a dashboard with graphs of chosen metrics.", (
                "[make|create|build] a [dashboard|board] [for|showing] {svc} [{metric} and {metric2}|health|latency]",
            )),
            ("get_slo", "Get an SLO's status and its remaining error budget.", (
                "[how much error budget|what's the SLO] [is|] left [for|on] {svc}[ this month|]?",
                "[are we|is {svc}] [meeting|within|breaching] [its|our] [SLO|availability target]?",
            )),
        ),
    ),
    Service(
        "analytics", "Google Analytics", ("in Analytics", "in GA", "in google analytics"), 0.3, {}, "",
        (
            ("get_page_views", "Get page views of a page or of the whole site over a period.", (
                "how many [views|page views|hits|visits] did [the {page} page|{page}|the site] get {range}?",
                "[page views|traffic] [to|on|for] {page} {range}",
            )),
            ("get_active_users", "Get how many users are active now or over a period.", (
                "how many [people|users|visitors] are on the site [right now|now]?",
                "[daily|monthly|weekly] active users {range}",
            )),
            ("get_conversion_rate", "Get the conversion rate of a goal or a funnel step over a period.", (
                "what's [our|the] conversion rate [on|for] [signups|checkout|the {page} page|trials] {range}?",
                "[what percent|how many] of [visitors|users] [converted|bought|signed up] {range}?",
            )),
            ("get_top_pages", "Get the most visited pages over a period.", (
                "[which|what] [pages|articles|posts] [got the most traffic|were most popular|are top] {range}?",
                "[top|most viewed|best performing] [pages|content] {range}",
            )),
            ("get_traffic_sources", "Get where visitors came from: search, social, referrals or direct.", (
                "where [is|was] [our|the] traffic coming from {range}?",
                "[referrals|traffic sources|channels|utm sources] breakdown {range}",
            )),
            ("get_funnel", "Get a funnel's drop-off step by step over a period.", (
                "where do [people|users] drop off [in|during] [checkout|signup|onboarding]?",
                "[signup|checkout|onboarding] funnel [drop-off|breakdown|steps] {range}",
            )),
            ("get_retention", "Get cohort retention: the share of users who return, week by week.", (
                "[how many|what share of] [users|new signups|customers] [come back|return|stick around] after [a week|a month|{n} weeks]?",
                "[cohort|week-{n}] retention [for users from|] {range}",
            )),
            ("track_event", "Record a custom analytics event with properties.", (
                "[track|log|record|send] [an event|a '{evt}' event] [for|when] [{Name}|user {n5}|the {page} page][| with value {amount}]",
            )),
            ("export_report", "Export a report as CSV or PDF.", (
                "[export|download|send me] the [traffic|conversion|{month}] report as [CSV|a csv|PDF|a spreadsheet]",
            )),
            ("create_audience", "Create an audience of users matching conditions.", (
                "[create|build|define] an audience of [users|visitors] who [visited {page}|abandoned checkout|came from {source}] {range}",
            )),
        ),
    ),
    Service(
        "mailchimp", "Mailchimp", ("in Mailchimp", "on Mailchimp", "in mailchimp"), 0.35,
        {
            "campaign": Obj(
                "campaign", "campaigns", "[campaign|newsletter|email blast|mailing]",
                new="['{campaign}'|for the {campaign}][| to the {aud} list]",
                has=" with an audience, a subject line and content",
            ),
        },
        "campaign:create",
        (
            ("send_campaign", "Send a campaign to its audience now.", (
                "[send|blast|fire off|launch] the '{campaign}' [campaign|newsletter|email][ now| right away|]",
                "'{campaign}' is [ready|approved], send it [out|][ to {aud}|]",
            )),
            ("schedule_campaign", "Schedule a campaign to be sent at a date and time.", (
                "[schedule|queue|set] the '{campaign}' [campaign|newsletter|email] [for|to go out] {day} at {time}",
                "send '{campaign}' {day} at {time}, not now",
            )),
            ("get_campaign_report", "Get a campaign's opens, clicks, bounces and unsubscribes.", (
                "[how did the '{campaign}' [campaign|newsletter|email] do|how's the '{campaign}' [campaign|newsletter|email] doing]?",
                "[open rate|click rate|clicks|opens|stats] [for|of|on] '{campaign}'",
            )),
            ("add_subscriber", "Add a subscriber to an audience.", (
                "[add|subscribe|sign up] {email} [to|on] the {aud} [list|audience|newsletter]",
                "put {Name} ({email}) on [our|the] [mailing list|{aud} list]",
            )),
            ("unsubscribe_member", "Unsubscribe a member from an audience.", (
                "[unsubscribe|remove|take] {email} [from|off] [the {aud} list|the newsletter|our mailing list]",
                "{Name} [wants|asked] to stop getting [our emails|the newsletter], [unsubscribe|remove] them",
            )),
            ("list_audiences", "List the audiences with their member counts.", (
                "[what|which] [audiences|lists|mailing lists] do we have?",
                "how many [subscribers|contacts] [are on|in] [each list|our lists]?",
            )),
            ("create_segment", "Create a segment of an audience by conditions.", (
                "[create|make|build] a segment of [subscribers|contacts] who [opened '{campaign}'|live in {city}|bought {range}|never opened]",
            )),
            ("tag_subscriber", "Add tags to a subscriber.", (
                "[tag|label] {email} [as|with] '[vip|customer|lead|webinar]'",
                "[add|put] the '[vip|beta|churned]' tag [on|to] {Name}",
            )),
            ("update_subscriber", "Update a subscriber's name, email or other fields.", (
                "[change|update|fix] {Name}'s [email|address|name] on the [list|newsletter] to [{email}|{Name2}]",
            )),
        ),
    ),
    Service(
        "spotify", "Spotify", ("on Spotify", "in Spotify", "on spotify"), 0.3, {}, "",
        (
            ("play_track", "Play a track, an album or a playlist on a device.", (
                "[play|put on|start playing] {song}",
                "[I want to hear|let's listen to] [some|] {artist}[| in the {room}]",
                "play my '{playlist}' playlist",
            )),
            ("pause_playback", "Pause playback on the active device.", (
                "[pause|stop] [the music|playback|spotify|this song]",
                "hold on, pause [it|the song][ for a sec|]",
            )),
            ("skip_track", "Skip to the next track.", (
                "[skip|next|skip this] [song|track|one]",
                "I don't like this [song|track], [next|skip it]",
            )),
            ("search_tracks", "Search the catalog for tracks, albums or artists.", (
                "[find|search for|look up] [songs|tracks] [by {artist}|called {songname}|with '{word}' in the title]",
                "does spotify have {songname}?",
            )),
            ("create_playlist", "Create a playlist with a name.", (
                "[make|create|start] a [new|] playlist [called|named] '[{playlist}|{activity} mix|{month} favorites]'",
            )),
            ("add_to_playlist", "Add tracks to a playlist.", (
                "[add|put|save] [this song|{song}] [to|on|in] [my|the] '{playlist}' [playlist|list]",
            )),
            ("get_currently_playing", "Get the track that is playing now.", (
                "what [song|track] is [this|playing][ right now|]?",
                "who [sings|is singing] this [song|]?",
            )),
            ("set_volume", "Set the playback volume on a device.", (
                "[turn|crank] [it|the music|the volume] [up|down][| to {pct}%]",
                "[set|change] the [spotify|music] volume to {pct}[%| percent]",
            )),
            ("get_recommendations", "Get track recommendations seeded by tracks, artists or genres.", (
                "[recommend|suggest] [some|] [songs|music|tracks] like {artist}",
                "[what should I listen to|give me something new] [for|while] [running|studying|a dinner party|cooking]",
            )),
            ("follow_artist", "Follow an artist.", (
                "[follow|subscribe to] {artist}[ on spotify|]",
            )),
        ),
    ),
    Service(
        "quickbooks", "QuickBooks", ("in QuickBooks", "in QB", "in the books", "in quickbooks"), 0.35,
        {
            "invoice": Obj(
                "invoice", "invoices", "[invoice|customer invoice|bill to a customer]",
                new="[to|for] {Company} [for|of] {amount}[| due {day}| net 30]",
                has=" for a customer, with products, amounts and terms",
            ),
            "bill": Obj(
                "bill", "bills", "[bill|vendor bill|payable]",
                new="from {Company} for {amount}[| due {day}]",
                has=" from a vendor, with a due date and expense lines",
            ),
            "vendor": Obj(
                "vendor", "vendors", "[vendor|supplier]",
                new="[called|named] {Company}[, {email}|]",
                has=" with a name, contact details and payment terms",
            ),
        },
        "invoice:create bill:create vendor:create",
        (
            ("record_payment", "Record a customer's payment against an invoice.", (
                "[record|log|mark] [a payment|{amount}] [from|received from] {Company} [against|for|on] invoice #{n4}",
                "{Company} paid [invoice|] #{n4}[| by check| by wire], [record|log] it",
            )),
            ("pay_bill", "Pay a vendor bill from a bank account.", (
                "[pay|settle] the [bill|invoice] from {Company}[ of {amount}|][ from checking| today|]",
                "[send|schedule] payment to {Company} for [their|the] {amount} bill",
            )),
            ("get_profit_and_loss", "Get the profit and loss report for a period.", (
                "[what's|show me] [our|the] [P&L|profit and loss|income statement] {range}",
                "[did we make money|how much did we make|were we profitable] {range}?",
            )),
            ("get_balance_sheet", "Get the balance sheet at a date.", (
                "[pull|show|run] the balance sheet [as of|at|for] [{month}|end of quarter|today]",
                "what's our [equity|total assets|net worth on the books] [right now|as of {date}]?",
            )),
            ("list_overdue_invoices", "List invoices past their due date, by customer.", (
                "[who|which customers] [owes us|hasn't paid|is late paying]?",
                "[show|list] [all|] [overdue|unpaid|late|past due] invoices[| over {amount}| from {Company}]",
            )),
            ("reconcile_account", "Reconcile a bank account against its statement.", (
                "[reconcile|match up] [the|our] [checking|savings|credit card|bank] account [for|against] [{month}|the {month} statement]",
            )),
            ("create_journal_entry", "Post a journal entry with debits and credits.", (
                "[post|book|create|record] a journal entry [moving|for] {amount} from [rent|payroll|deferred revenue] to [expenses|prepaid|cash]",
            )),
            ("categorize_transaction", "Assign a bank transaction to an expense or income category.", (
                "[categorize|classify|put] the {amount} [charge|transaction|payment] [from|at] {restaurant} [as|under|into] [meals|travel|software|office supplies]",
                "that {amount} payment to {Company} [is|should be] [software|marketing|travel], [categorize|file] it",
            )),
        ),
    ),
    Service(
        "asana", "Asana", ("in Asana", "on Asana", "on the board", "in asana"), 0.35,
        {
            "task": Obj(
                "task", "tasks", "[task|to-do|todo|action item]", "[tasks|to-dos|todos|action items]",
                ref="['{todo}'|'{todo}' in {proj}]",
                new="['{todo}'|to '{todo}'][| for {Name}| due {day}| in {proj}]",
                fields=(("due date", "{date}"), ("name", "'{todo}'"), ("priority", "[high|low|medium]"),
                        ("notes", "'{short}'")),
                has=" with a name, an assignee, a due date and a project",
            ),
            "project": Obj(
                "project", "projects", "[project|board|workstream]",
                new="[called|named] '{proj}'[| for {team}|]",
                has=" with a name, a team and sections",
            ),
        },
        "task:create,update,delete,list project:create",
        (
            ("complete_task", "Mark a task complete.", (
                "[complete|finish|tick off|check off|mark done] [the task|] '{todo}'",
                "I [finished|did|wrapped up] '{todo}', mark it [done|complete]",
            )),
            ("assign_task", "Assign a task to a person.", (
                "[assign|give|hand] '{todo}' to {Name}",
                "{Name} [should own|will do|takes] '{todo}'",
            )),
            ("set_due_date", "Set or change a task's due date.", (
                "[make|set] '{todo}' due {day}",
                "[push|move|change] the deadline [of|for] '{todo}' to {date}",
            )),
            ("add_subtask", "Add a subtask under a task.", (
                "[add|create] a subtask '{todo2}' [under|to|in] '{todo}'",
                "[break|split] '{todo}' [down|up] [with|into] a [step|subtask]: '{todo2}'",
            )),
            ("comment_on_task", "Comment on a task.", (
                "[comment|add a comment|write] on '{todo}': {short}",
                "[tell|let] {Name} know on '{todo}' that {short}",
            )),
            ("move_task", "Move a task to another section or project.", (
                "[move|drag|put] '{todo}' [to|into] [the|] ['Done'|'In progress'|'{proj}'][ column| section| project|]",
            )),
        ),
    ),
    Service(
        "home", "the smart home hub", ("",), 0.0, {}, "",
        (
            ("turn_on_lights", "Turn on the lights in a room, optionally at a brightness.", (
                "turn on the [lights|lamp|light] in the {room}",
                "[lights on|switch on the lights] in the {room}",
                "it's dark in the {room}[, lights please|]",
            )),
            ("turn_off_lights", "Turn off the lights in a room or everywhere.", (
                "[turn off|switch off|kill] the [lights|lamp] [in the {room}|everywhere|downstairs]",
                "[lights off|no more lights] in the {room}",
            )),
            ("set_light_color", "Set the color or the warmth of the lights in a room.", (
                "[make|set|turn] the [{room} lights|lights in the {room}] [blue|warm white|red|purple|green|cozy orange]",
            )),
            ("set_thermostat", "Set the thermostat's target temperature or mode.", (
                "set the [thermostat|heat|AC|temperature] to {temp}",
                "it's [freezing|too hot|cold|stuffy] in [here|the {room}], [make it|set it to] {temp}",
                "[turn|crank] the [heat|AC] [up|down] to {temp}",
            )),
            ("lock_door", "Lock a smart door lock.", (
                "lock the [front|back|garage|side] door",
                "did I lock the [front|back] door? lock it",
            )),
            ("unlock_door", "Unlock a smart door lock.", (
                "unlock the [front|back|garage|side] door[| for {Name}| for the delivery]",
                "let {First} in, [unlock|open] the [front|back] door",
            )),
            ("get_camera_snapshot", "Get a still image from a security camera.", (
                "[show|let me see|what's on] the [front door|driveway|backyard|garage|porch] camera",
                "[who's|is someone] at the [door|gate]? [show me|check the camera]",
            )),
            ("arm_alarm", "Arm the alarm system in away or home mode.", (
                "[arm|set|turn on] the [alarm|security system][| in away mode| for the night]",
                "[we're leaving|going to bed], arm the [alarm|security]",
            )),
            ("disarm_alarm", "Disarm the alarm system.", (
                "[disarm|turn off|switch off] the [alarm|security system]",
                "I'm home, [disarm|deactivate] the alarm",
            )),
            ("get_energy_usage", "Get the electricity the home or a device used over a period.", (
                "how much [electricity|energy|power] did [we|the house|the {appliance}] use {range}?",
                "[what's|show me] [our|the] [energy|power|kwh] usage {range}",
            )),
            ("run_scene", "Run a saved scene that sets several devices at once.", (
                "[run|start|activate|turn on] the '[movie night|good morning|bedtime|away|dinner]' [scene|mode|routine]",
                "[movie night|good night|I'm leaving|good morning] mode[ please|]",
            )),
        ),
    ),
    Service(
        "markets", "the market data service", ("",), 0.0, {}, "",
        (
            ("get_stock_quote", "Get a stock's latest price and its change today.", (
                "[what's|how much is] {ticker} [trading at|at|worth][ right now| today|]?",
                "[price|quote] [of|for] [{stockco}|{ticker}][ stock| shares|]",
            )),
            ("get_stock_history", "Get a stock's daily prices over a period.", (
                "how has {ticker} [done|performed|moved] {range}?",
                "[chart|history|prices] [of|for] [{stockco}|{ticker}] over the [past year|last month|last 5 days]",
            )),
            ("get_company_financials", "Get a company's revenue, profit and other figures from its reports.", (
                "[what was|what's] {stockco}'s [revenue|earnings|profit|EPS] [last quarter|in {year}|this year]?",
                "[pull|show] {ticker}'s [income statement|financials|balance sheet]",
            )),
            ("get_exchange_rate", "Get the exchange rate between two currencies.", (
                "what's the [exchange rate|rate] [from|between] {cur} [to|and] {cur2}[ today|]?",
                "how [strong|much] is the {cur} against the {cur2}[ right now|]?",
            )),
            ("convert_currency", "Convert an amount from one currency to another.", (
                "[convert|change] {num} {cur} [to|into] {cur2}",
                "how much is {num} {cur} in {cur2}?",
            )),
            ("get_crypto_price", "Get a cryptocurrency's price.", (
                "[what's|how much is] [a|one|] {crypto} [worth|at|trading at][ now| today|]?",
                "{crypto} price[ in {cur}|]",
            )),
            ("get_market_news", "Get recent market news about a company or a sector.", (
                "[any|what's the|latest] news [on|about] [{stockco}|{ticker}|the {sector} sector]?",
                "why [is {ticker} up|is {ticker} down|did {ticker} drop|did {ticker} jump] [today|this week]?",
            )),
        ),
    ),
    Service(
        "language", "the language service", ("",), 0.0, {}, "",
        (
            ("translate_text", "Translate text into another language.", (
                "[translate|say] '{phrase}' [in|into|to] {lang}",
                "how do you say '{phrase}' in {lang}?",
            )),
            ("detect_language", "Detect which language a text is written in.", (
                "what language is '{foreign}'[| written in]?",
                "[which|what] language is this: '{foreign}'",
            )),
            ("transcribe_audio", "Transcribe an audio or video file to text.", (
                "[transcribe|write out|type up] [the|this] [recording|voicemail|audio|interview] {audiofile}",
                "[get|make] a [transcript|text version] of {audiofile}",
            )),
            ("text_to_speech", "Turn text into spoken audio in a chosen voice.", (
                "[read|say] '{phrase}' [out loud|aloud][| in a British voice| in a calm voice]",
                "[make|turn|convert] '{phrase}' [into|to] [an audio clip|speech|an mp3]",
            )),
            ("summarize_text", "Summarize a long text in a few sentences.", (
                "[summarize|sum up|give me the gist of|tl;dr] [this|the] [article|report|email thread|text][ about {subject}|]",
                "[make|write] a [short|3-line|brief] summary of the {subject} [doc|article|thread]",
            )),
            ("check_grammar", "Check a text's spelling and grammar and suggest fixes.", (
                "[proofread|check|fix the grammar of|spellcheck] '{phrase}'",
                "is '{badphrase}' [grammatically correct|right|proper english]?",
            )),
        ),
    ),
    Service(
        "doordash", "DoorDash", ("on DoorDash", "from DoorDash", "on doordash"), 0.35, {}, "",
        (
            ("search_restaurants", "Search restaurants that deliver to an address, by cuisine or name.", (
                "[find|search|any] [thai|sushi|pizza|indian|vegan|burger] [places|restaurants|delivery] [near me|that deliver|open now]",
                "who delivers [{dish}|tacos|ramen] [around here|to {address}|]?",
            )),
            ("get_menu", "Get a restaurant's menu with prices.", (
                "[show|what's on|let me see] the menu [at|of|for] {restaurant}",
                "does {restaurant} have [{dish}|vegetarian options|gluten-free stuff]?",
            )),
            ("place_order", "Order food from a restaurant for delivery.", (
                "order [a|two|] {dish} from {restaurant}[| to {address}| for delivery]",
                "[get me|I want] {dish}[ delivered|] from {restaurant}[| ASAP]",
            )),
            ("track_order", "Get where a food delivery is and when it arrives.", (
                "where's my [food|order|delivery][ from {restaurant}|]?",
                "how long [until|till|before] [my|the] [{restaurant}|food|delivery] [gets here|arrives]?",
            )),
            ("cancel_order", "Cancel a food order before the restaurant confirms it.", (
                "cancel [my|the] [food|] order [from {restaurant}|I just placed]",
                "[nevermind|never mind|forget] the {restaurant} order, cancel it",
            )),
            ("reorder", "Place again an order made before.", (
                "[reorder|order again|repeat] [my last order|what I got from {restaurant} {pastday}]",
                "[same as last time|the usual] from {restaurant}[ please|]",
            )),
        ),
    ),
    Service(
        "uber", "Uber", ("on Uber", "with uber", "on the uber app"), 0.2, {}, "",
        (
            ("request_ride", "Request a ride now from a pickup point to a destination.", (
                "[get|call|book|order] me [a ride|a car|an uber|a taxi] to {place2}[| from {place}]",
                "I need a [ride|lift|cab] to {place2} [now|right now|asap]",
            )),
            ("schedule_ride", "Schedule a ride for a later time.", (
                "[schedule|book|reserve] a [ride|car|cab] to {place2} [for|at] {time} {day}",
                "I need a car [to|for] [the airport|{place2}] {day} at {time}, [book|schedule] it [now|ahead]",
            )),
            ("get_fare_estimate", "Estimate the fare of a ride before requesting it.", (
                "how much [would|will] [a ride|an uber|a cab] [to|from {place} to] {place2} [cost|be]?",
                "[price|fare] [estimate|quote] to {place2}",
            )),
            ("cancel_ride", "Cancel a requested or scheduled ride.", (
                "cancel [my|the] [ride|uber|car|pickup][ to {place2}|]",
                "[nevermind|never mind] the [ride|car], I[ will walk| got a lift]",
            )),
            ("get_ride_status", "Get where the driver is and when they arrive.", (
                "where's my [driver|ride|car]?",
                "how [far away is the driver|long until the uber gets here]?",
            )),
            ("get_ride_history", "List past rides with their dates, routes and fares.", (
                "[show|list] [my|] [past|recent|previous] rides {range}",
                "how much did I spend on [rides|uber] {range}?",
            )),
        ),
    ),
    Service(
        "twitter", "X (Twitter)", ("on Twitter", "on X", "on twitter"), 0.4, {}, "",
        (
            ("post_tweet", "Publish a post (a tweet) from the account.", (
                "[tweet|post] '{short}'",
                "[put|share] [a post|a tweet|something] [on X|on twitter] [saying|:] {short}",
            )),
            ("reply_to_tweet", "Reply to a post.", (
                "[reply|respond] to @{handle}'s [tweet|post] [with|saying] '{short}'",
                "answer @{handle}: {short}",
            )),
            ("delete_tweet", "Delete one of the account's posts.", (
                "[delete|remove|take down] [my|the|our] [last|latest] [tweet|post][| about {subject}]",
                "[delete|remove] the tweet [about|where I said] {subject}",
            )),
            ("search_tweets", "Search recent posts by words, hashtags or authors.", (
                "[search|find|look for] [tweets|posts] [about|mentioning|with] [#{hashtag}|{Company}|'{subject}'] {range}",
                "what are people [saying|tweeting] about [{Company}|#{hashtag}]?",
            )),
            ("get_mentions", "Get recent posts that mention the account.", (
                "[who|anyone] [mentioned|tagged|@'d] us {range}?",
                "[show|list] [our|my] [mentions|notifications|@mentions] {range}",
            )),
            ("follow_user", "Follow an account.", ("follow @{handle}",)),
            ("schedule_tweet", "Schedule a post for a later time.", (
                "[schedule|queue] [a tweet|a post] for {day} at {time}: {short}",
                "[post|tweet] '{short}' {day} at {time}, not now",
            )),
            ("like_tweet", "Like a post.", (
                "[like|heart] @{handle}'s [latest|last|pinned] [tweet|post]",
            )),
            ("retweet", "Repost a post to the account's followers.", (
                "[retweet|repost|share] @{handle}'s [post|tweet] about {subject}",
            )),
            ("send_direct_message", "Send a private direct message to an account.", (
                "[DM|message|send a DM to] @{handle}[:| saying] {short}",
            )),
        ),
    ),
    Service(
        "confluence", "Confluence", ("in Confluence", "on the wiki", "in confluence"), 0.5,
        {
            "page": Obj(
                "page", "pages", "[page|wiki page|article|doc]", "[pages|wiki pages|articles|docs]",
                ref="'{doc}'[| in the {team} space]",
                new="[called|titled] '{doc}' in the {team} space",
                fields=(("title", "'{doc2}'"), ("parent page", "'{doc2}'"),
                        ("body", "[the new process|'{short}']")),
                query="[about {subject}|with label '[runbook|howto|{team}]'|in the {team} space|mentioning {Company}]",
                has=" in a space, under a parent page",
                keys="title, label, space or words in it",
            ),
        },
        "page:create,get,update,search",
        (
            ("list_spaces", "List the wiki spaces you can see.", (
                "[which|what] [spaces|wiki spaces] [do we have|are there|can I see]?",
                "[list|show] [all|] confluence spaces",
            )),
            ("export_page", "Export a wiki page as PDF or Word.", (
                "[export|download|save] [the wiki page|the page|] '{doc}' [as|to] [PDF|pdf|Word|a doc]",
            )),
            ("add_label", "Add labels to a wiki page.", (
                "[label|tag] [the wiki page|] '{doc}' [as|with] '[runbook|howto|{team}|deprecated]'",
            )),
        ),
    ),
    Service(
        "okta", "Okta", ("in Okta", "on Okta", "in okta"), 0.35,
        {
            "user": Obj(
                "user", "users", "[user|account|login|person]",
                ref="[{Name}|{email}]",
                new="[for|:] {Name} ({email})[| in {team}]",
                has=" with a login, a name and groups",
            ),
        },
        "user:get,create",
        (
            ("deactivate_user", "Deactivate a user, ending their sign-ins and their access to apps.", (
                "[deactivate|disable|suspend|shut off] {Name}'s [account|access|login]",
                "{Name} [left the company|is gone], [kill|revoke|disable] [their access|all their logins]",
            )),
            ("reset_password", "Send a user a password reset link.", (
                "[reset|send a reset link for] {Name}'s password",
                "{Name} [forgot|can't remember] [their|her|his] password, [reset|send] it",
            )),
            ("reset_mfa", "Reset a user's multi-factor enrollments so they set them up again.", (
                "[reset|clear|wipe] {Name}'s [MFA|2FA|authenticator|second factor]",
                "{Name} [got a new phone|lost their phone], reset [their|] [MFA|2FA|Okta Verify]",
            )),
            ("unlock_user", "Unlock a user locked out after failed sign-ins.", (
                "{Name} is locked out, [unlock|free up] [their account|them]",
                "[unlock|unblock] {email}",
            )),
            ("add_to_group", "Add a user to a group, granting its apps.", (
                "add {Name} to the [{team}|admins|VPN users|engineering] group",
                "[give|grant] {Name} [access to|membership in] the {team} group",
            )),
            ("remove_from_group", "Remove a user from a group.", (
                "[remove|take] {Name} [from|out of|off] the [{team}|admins|VPN users] group",
            )),
            ("list_groups", "List a user's groups, or all groups.", (
                "[what|which] groups [is {Name} in|does {Name} belong to|exist]?",
                "[list|show] [all|] the [okta|] groups",
            )),
        ),
    ),
    Service(
        "docusign", "DocuSign", ("in DocuSign", "through DocuSign", "on docusign"), 0.35, {}, "",
        (
            ("send_envelope", "Send documents to people to sign.", (
                "[send|get] {file} [to {Name}|out] [to sign|for signature|for e-signature]",
                "[have|get] {Name} to sign the [NDA|contract|offer letter|lease][ by {date}|]",
            )),
            ("get_envelope_status", "Get whether each signer has signed, viewed or declined.", (
                "has {Name} signed the [NDA|contract|offer letter|lease] [yet|]?",
                "[status|where are we] [of|on|with] the [{Company} contract|NDA for {Name}] signature",
            )),
            ("void_envelope", "Void an envelope so that it can no longer be signed.", (
                "[void|cancel|withdraw|recall] the [NDA|contract|offer letter|envelope] [sent to|for] {Name}",
            )),
            ("resend_envelope", "Remind signers who have not signed yet.", (
                "[remind|nudge|chase] {Name} to sign the [NDA|contract|offer letter]",
                "[resend|send again] the [signing|signature] [request|email] to {Name}",
            )),
            ("download_document", "Download the signed documents and their certificate.", (
                "[download|get|save] the signed [NDA|contract|offer letter|lease] [from|for] {Name}[| with the certificate]",
            )),
            ("create_template", "Save a document with signer fields as a template.", (
                "[make|create|save] a [signing|docusign] template from {file}",
            )),
            ("list_envelopes", "List envelopes by status or date.", (
                "[which|what] [documents|contracts|envelopes] are [waiting for signature|still out|unsigned|pending] {range}?",
                "[list|show] [all|] envelopes [sent|completed] {range}",
            )),
        ),
    ),
    Service(
        "dropbox", "Dropbox", ("in Dropbox", "on Dropbox", "in dropbox"), 0.7, {}, "",
        (
            ("upload_file", "Upload a file to a Dropbox folder.", (
                "[upload|put|save] {file} [to|in|into] [Dropbox|/{folder}]",
            )),
            ("download_file", "Download a file from Dropbox.", (
                "[download|get|pull down] {file} from [Dropbox|/{folder}]",
            )),
            ("create_shared_link", "Create a link anyone can use to view or download a file.", (
                "[get|make|create] a [share|shareable|public|download] link [for|to] {file}",
                "I need a link to send {file} to [{Name}|a client]",
            )),
            ("list_folder", "List what is in a folder.", (
                "what's in [the|my] [/{folder}|{folder}] folder?",
                "[list|show] [the contents of|everything in] /{folder}",
            )),
            ("move_file", "Move a file or a folder to another path.", (
                "[move|put] {file} [to|into] /{folder}",
            )),
            ("delete_file", "Delete a file or a folder.", (
                "[delete|remove|trash] {file} from [dropbox|/{folder}]",
            )),
            ("restore_file", "Restore an earlier version of a file.", (
                "[restore|roll back|revert] {file} to [yesterday's|the previous|an earlier] version",
                "get back the [old|earlier] version of {file}",
            )),
        ),
    ),
    Service(
        "calendly", "Calendly", ("in Calendly", "on Calendly", "on calendly"), 0.7, {}, "",
        (
            ("get_scheduling_link", "Get a one-off booking link for an event type.", (
                "[send me|get|make] a [booking|scheduling|calendly] link [for|with] [a 30-minute call|an intro call|a demo][ for {Name}|]",
                "[give|send] {Name} a link to book [time|a slot] with me",
            )),
            ("list_scheduled_events", "List upcoming booked events.", (
                "who has booked [time|a slot] with me {range}?",
                "[list|show] [my|] [upcoming|booked] [meetings|bookings] {range}",
            )),
            ("cancel_booking", "Cancel a booked event and notify the invitee.", (
                "cancel [my|the] [booking|appointment|call] with {Name}[ {day}|]",
            )),
            ("list_event_types", "List the event types people can book.", (
                "[what|which] [meeting|event] types [can people book|do I have]?",
            )),
            ("set_availability", "Set the weekly hours when people can book.", (
                "[only let people book|allow bookings] [from {time} to {time2}|on weekdays|in the mornings]",
                "[block|close] bookings [on {wday}s|{day}]",
            )),
        ),
    ),
)  # fmt: skip

# --- what requests fill in -----------------------------------------------------------------------

FIRST = str.split(
    "Maria Priya James Chen Fatima Liam Sofia Omar Yuki Lucas Amara Noah Elena Kofi Mei Diego "
    "Hannah Ravi Zoe Mateo Aisha Ben Ingrid Tomas Leila Sam Grace Arjun Nina Felix Rosa Ahmed "
    "Claire Jonas Keiko Marco Lina Victor Ruth Dmitri"
)
LAST = str.split(
    "Lopez Patel Smith Wang Khan Murphy Rossi Haddad Tanaka Silva Okafor Brown Petrova Mensah "
    "Li Garcia Becker Sharma Kim Fernandez Ali Cohen Larsen Novak Moreau Park Evans Gupta "
    "Schmidt Costa Nakamura Rivera Nguyen Walsh Dubois Jensen"
)
POOLS: dict[str, tuple[str, ...]] = {
    "Company": ("Acme", "Globex", "Initech", "Northwind", "Contoso", "Hooli", "Umbrella Health",
                "Stark Logistics", "Wayne Foods", "Vandelay Imports", "Blue Sky Dental",
                "Lakeside Realty", "Redwood Capital", "Summit Outdoors", "Pied Piper",
                "Brightpath Schools", "Orbit Labs", "Greenleaf Energy", "Nimbus Air",
                "Harbor Freight Co"),
    "city": ("Denver", "Austin", "Lisbon", "Berlin", "Tokyo", "Nairobi", "Toronto", "Chicago",
             "Seattle", "Boston", "Madrid", "Dublin", "Singapore", "Sydney", "Mumbai",
             "Mexico City", "Paris", "London", "Oslo", "Cape Town", "Phoenix", "Miami"),
    "Street": ("Maple", "Oak", "Pine", "Cedar", "Elm", "Lakeview", "Hillcrest", "Sunset",
               "River", "Park", "Willow", "Main", "Market", "Mission"),
    "St": ("Street", "Avenue", "Road", "Lane", "Drive", "Blvd"),
    "address": ("{n3} {Street} {St}", "{n4} {Street} {St}", "{n2} {Street} {St}, apt {n}"),
    "place": ("the office", "home", "the airport", "Union Station", "downtown", "the hotel",
              "Central Park", "my gym", "the stadium", "{Name}'s place", "{address}"),
    "date": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "March 3", "April 22",
             "June 9", "Sept 30", "the 14th", "the 2nd", "May 17", "Nov 8", "next Monday"),
    "day": ("today", "tomorrow", "on Monday", "on Tuesday", "next Wednesday", "on Thursday",
            "this Friday", "on March 3", "on the 14th", "next week", "on June 9",
            "tomorrow morning", "on Sept 30", "this afternoon"),
    "pastday": ("yesterday", "last Monday", "on March 3", "last week", "two days ago",
                "on Friday", "this morning", "last Tuesday", "on the 2nd"),
    "wday": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "time": ("9am", "10:30", "2pm", "3:15pm", "noon", "4pm", "8:45", "11am", "5:30pm", "1pm"),
    "range": ("this week", "last week", "yesterday", "today", "this month", "last month",
              "in the last 30 days", "since Monday", "this quarter", "in March",
              "over the weekend", "in the last 24 hours", "so far this year"),
    "month": ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December"),
    "year": ("2022", "2023", "2024"),
    "amount": ("${n3}", "${n1},{n3}", "${n2}.99", "€{n3}", "£{n2}", "${n2}k", "${n3}.50"),
    "subject": ("the Q3 budget", "the offsite", "the Acme renewal", "the hiring plan", "the launch",
                "invoice {n4}", "the contract", "travel plans", "the board deck", "pricing",
                "the outage", "onboarding", "the roadmap", "the holiday party", "the new logo",
                "the audit", "the vendor quote", "the migration"),
    "short": ("standup is moved to 10", "the build is green again", "I'm running 10 minutes late",
              "the deploy is done", "lunch is here", "the client signed", "please review by EOD",
              "the server is back up", "the office is closed tomorrow", "great job everyone",
              "we hit our target", "the demo went well", "the docs are updated",
              "can we push this to next week", "waiting on legal", "fixed in the latest build"),
    "meeting": ("weekly sync", "budget review", "1:1", "design crit", "sprint planning",
                "all-hands", "customer demo", "interview", "team lunch", "board prep",
                "retro", "kickoff"),
    "doc": ("Q3 planning", "launch checklist", "onboarding guide", "product spec",
            "meeting notes", "brand guidelines", "incident postmortem", "API reference",
            "pricing FAQ", "hiring rubric"),
    "bug": ("login page times out", "checkout button does nothing on Safari",
            "CSV export drops the last row", "dark mode colors are wrong",
            "password reset email never arrives", "search returns duplicates",
            "crash when uploading a photo", "wrong currency on invoices",
            "slow dashboard load"),
    "problem": ("a double charge", "login trouble", "a missing package", "a broken zipper",
                "the app crashing", "a late delivery", "the wrong size", "a refund request",
                "a damaged item"),
    "todo": ("update the pricing page", "send the Q3 report", "book the venue",
             "review the contract", "fix the onboarding email", "call the printer vendor",
             "prepare the demo", "order new laptops", "draft the press release",
             "clean up the backlog"),
    "proj": ("Website redesign", "Q4 launch", "Hiring 2024", "Mobile app v2", "Office move",
             "Brand refresh", "Data warehouse"),
    "team": ("backend", "design", "sales", "support", "marketing", "data", "mobile", "finance",
             "platform", "growth"),
    "title": ("VP of Sales", "Head of Marketing", "Senior Engineer", "Account Executive",
              "Office Manager", "Product Designer", "Data Analyst", "Support Lead"),
    "file": ("Q3-report.pdf", "budget_2024.xlsx", "the onboarding deck",
             "contract_acme_signed.pdf", "logo-final-v3.png", "meeting notes.docx",
             "roadmap.pptx", "invoice_{n4}.pdf", "team-photo.jpg", "the tax forms",
             "headcount.csv", "pitch-deck.pdf"),
    "filebase": ("Q3 report", "budget", "roadmap", "offer letter", "pitch deck", "headcount"),
    "folder": ("Finance", "Marketing/2024", "Shared with clients", "Archive", "Design assets",
               "Legal", "HR/Onboarding", "Board meetings"),
    "channel": ("#general", "#marketing", "#eng-backend", "#random", "#sales-team",
                "#incidents", "#design", "#support", "#launch", "#{team}"),
    "repo": ("payments-api", "web-frontend", "mobile-app", "infra", "data-pipeline",
             "auth-service", "docs-site", "billing-worker", "search-indexer", "design-system"),
    "branch": ("feature/{word}", "fix/login-timeout", "release/{ver}", "develop",
               "hotfix/{n3}", "feat/dark-mode", "chore/deps"),
    "ver": ("2.4.0", "1.9.1", "3.0.0", "0.12.3", "4.1.2", "2.0.0-rc1"),
    "jkey": ("PAY", "WEB", "OPS", "MOB", "DATA", "CORE", "SEC", "GROW"),
    "product": ("blue hoodie", "Classic Tee", "ceramic mug", "trail running shoes",
                "12oz tumbler", "gift card", "canvas tote", "wireless charger", "yoga mat",
                "leather wallet"),
    "CODE": ("SPRING20", "WELCOME10", "VIP{n}0", "FLASH{n}5", "SUMMER{n2}", "THANKYOU"),
    "flight": ("UA {n3}", "DL {n4}", "BA {n3}", "AA {n3}", "LH {n3}", "AF {n2}"),
    "airport": ("JFK", "LAX", "SFO", "ORD", "LHR", "CDG", "NRT", "DXB", "AMS", "SEA", "BOS",
                "DEN"),
    "instance": ("web-prod-{n}", "db-replica-{n}", "batch-worker-{n}", "api-staging",
                 "bastion", "ml-trainer-{n}", "jenkins"),
    "bucket": ("acme-backups", "logs-prod", "static-assets", "ml-datasets", "invoices-archive"),
    "region": ("us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"),
    "ns": ("prod", "staging", "default", "monitoring", "payments"),
    "svc": ("checkout", "auth", "search", "payments", "notifications", "recommendations",
            "gateway", "inventory"),
    "manifest": ("deployment.yaml", "{svc}-ingress.yaml", "configmap.yaml", "k8s/{svc}.yaml"),
    "metric": ("CPU", "memory", "p99 latency", "error rate", "request count", "disk usage"),
    "page": ("/pricing", "/blog/launch", "the homepage", "/signup", "/docs/api", "/careers"),
    "evt": ("signup", "add_to_cart", "video_play", "purchase", "trial_start"),
    "source": ("google ads", "the newsletter", "twitter", "partner links"),
    "campaign": ("Black Friday", "spring newsletter", "product launch", "welcome series",
                 "holiday sale", "webinar invite", "{month} update"),
    "aud": ("customers", "newsletter", "beta users", "VIP", "leads", "trial users"),
    "songname": ("'Blinding Lights'", "'Levitating'", "'Clair de Lune'", "'Hey Jude'",
                 "'Hotel California'", "'Dancing Queen'", "'Redbone'", "'Bohemian Rhapsody'"),
    "artist": ("The Weeknd", "Dua Lipa", "Debussy", "the Beatles", "Eagles", "ABBA", "Queen",
               "Taylor Swift", "Kendrick Lamar", "Miles Davis", "Daft Punk"),
    "song": ("{songname}", "{songname} by {artist}", "the new {artist} album", "some {artist}"),
    "playlist": ("Road Trip", "Focus", "Gym Mix", "Sunday Morning", "Party", "Chill Vibes"),
    "activity": ("running", "study", "dinner", "workout", "sleep"),
    "room": ("living room", "kitchen", "bedroom", "office", "garage", "porch", "hallway",
             "kids' room", "basement"),
    "temp": ("72", "68 degrees", "21°C", "70F", "19 degrees", "74"),
    "appliance": ("dryer", "AC", "EV charger", "dishwasher", "heat pump", "pool pump"),
    "ticker": ("AAPL", "TSLA", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "NFLX"),
    "stockco": ("Apple", "Tesla", "Microsoft", "Nvidia", "Amazon", "Netflix", "Shopify"),
    "sector": ("energy", "tech", "banking", "chip", "retail"),
    "cur": ("USD", "EUR", "GBP", "JPY", "CAD", "INR", "MXN", "CHF", "dollars", "euros"),
    "crypto": ("bitcoin", "ethereum", "solana", "dogecoin", "BTC", "ETH"),
    "lang": ("Spanish", "French", "German", "Japanese", "Portuguese", "Italian", "Korean",
             "Arabic", "Hindi"),
    "phrase": ("where is the train station", "thank you for your help",
               "the meeting is moved to Friday", "happy birthday", "how much does this cost",
               "we are closed on Sundays", "please sign the attached contract"),
    "foreign": ("Wo ist der Bahnhof?", "merci beaucoup pour tout", "dónde está el baño",
                "obrigado pela ajuda", "grazie mille", "dank je wel", "tack så mycket"),
    "badphrase": ("me and him goes to the store", "their going to be late",
                  "she don't like it", "who's book is this", "less people came than expected"),
    "audiofile": ("interview.mp3", "the voicemail from {Name}", "the board meeting recording",
                  "podcast_ep{n2}.wav", "the {meeting} recording"),
    "restaurant": ("Golden Dragon", "Pizza Palace", "Taco Loco", "Sushi Zen", "Burger Barn",
                   "Thai Orchid", "Curry House", "Green Bowl", "Blue Bottle", "Joe's Diner"),
    "dish": ("pad thai", "pepperoni pizza", "chicken burrito", "salmon rolls", "cheeseburger",
             "tikka masala", "poke bowl", "pho"),
    "handle": ("{first}{n2}", "acmehq", "techcrunch", "theverge", "{first}_{last}", "nytimes",
               "{first}codes"),
    "hashtag": ("AI", "launchday", "blackfriday", "remotework", "devops", "WWDC"),
    "cell": ("B{n}", "C12", "A1", "F{n}", "D{n2}"),
    "cells": ("A1:D20", "B2:B{n3}", "column C", "rows 2 to {n2}", "A1:F{n2}"),
    "sheet": ("{month} expenses", "{team} budget", "Sales tracker", "Inventory",
              "Headcount plan", "Leads"),
    "col": ("A", "B", "C", "D", "E", "F", "G", "H"),
    "sortkey": ("date", "amount", "last name", "revenue", "region", "signups"),
    "word": ("Q3", "draft", "TBD", "Acme", "2023", "beta", "ACME Corp", "v1"),
    "domain": ("acme.com", "gmail.com", "globex.io", "outlook.com", "hooli.xyz"),
    "num": ("250", "1,000", "75.50", "12,000", "40", "3.5 million", "99"),
    "areacode": ("415", "212", "312", "617", "512", "206"),
}  # fmt: skip
for _twin in ("city", "place", "Company", "date", "time", "doc", "todo", "folder", "metric", "word",
              "filebase", "airport", "cur"):  # fmt: skip
    POOLS[_twin + "2"] = POOLS[_twin]  # a second one (drawn apart from the first)
NUMBERS: dict[str, tuple[int, int]] = {
    "n": (2, 9), "n1": (1, 9), "n2": (10, 99), "n3": (100, 999), "n4": (1000, 9999),
    "n4b": (1000, 9999), "n5": (10000, 99999), "n5b": (10000, 99999), "n6": (100000, 999999),
    "pr": (12, 4999), "pr2": (12, 4999), "pct": (5, 95),
}  # fmt: skip

# How requests begin and end, around a request that is an order ("delete the ...").
POLITE = ("can you {x}?", "could you {x}?", "please {x}", "{x} please", "I need you to {x}",
          "{x}", "{x}", "{x}", "{x}", "{x}, thanks", "{x} asap", "would you {x}?",
          "can u {x}", "pls {x}")  # fmt: skip
OPENERS = ("", "", "", "", "", "hey, ", "hi! ", "quick one: ", "ok so ", "morning! ", "yo ",
           "hello, ", "one more thing: ")  # fmt: skip
CLOSERS = ("", "", "", "", "", " thanks", " thx", " when you get a chance", " ty",
           " - urgent", " cheers", " thank you!")  # fmt: skip
# A request that starts with one of these words is an order and takes POLITE's forms.
ORDERS = frozenset(
    str.split(
        "accept add advance append apply approve archive arm ask assign back blank blast book "
        "boot bounce break bring bump call cancel change chart check clean clear close comment "
        "complete connect convert copy correct crank create cut deactivate decline delete deny "
        "disable disarm do download drag draft draw drop dm duplicate edit email empty end "
        "enter enroll erase escalate export fetch file fill find finish fire fix flag follow "
        "forward fulfill fwd get give grab graph grant hand heart hide include insert invite "
        "issue jot kick kill label land let link list lock log look make mark merge message "
        "move mute navigate note nudge offboard open order overwrite page pass pause pay pin "
        "ping place plot post power prepare print process proofread publish pull push put "
        "qualify queue react read reboot recall recommend record reconcile refund register "
        "reject remind remove rename reopen re-open reorder repeat replace repost request rerun "
        "re-run resend reserve reset resolve respond restart restore retweet reverse revert "
        "ring roll run rsvp save say scale scan schedule scrap search send set settle share "
        "shelve ship shoot show shut silence skip slack sms snapshot snooze solve sort spin "
        "spellcheck split start stash star stick stop submit subscribe suggest sum summarize "
        "suspend swap switch tag tail take tell terminate text tick track transcribe transfer "
        "translate trash trigger tuck turn tweet type unblock undelete unlock unsubscribe "
        "update upload verify view void wake whatsapp wipe withdraw write"
    )
)


AN = re.compile(r"\b([Aa]) (?=[aeioAEIO](?!ne\b|ne-))")  # "a event": "an event"


def articles(text: str) -> str:
    return AN.sub(lambda m: m.group(1) + "n ", text)


def plural_said(said: str) -> str:
    words = [w for w in CHOICE.sub(lambda m: m.group(1), said).split("|") if w]
    return "[" + "|".join(w + "s" for w in words) + "]"


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    service: Service
    requests: tuple[str, ...]
    obj: Obj | None = None  # the object of a generic verb
    verb: str = ""


def tools_of(service: Service, rng: random.Random) -> list[Tool]:
    """A service's tools: its generic verbs on its objects, then its own."""
    made = []
    for part in service.generic.split():
        key, verbs = part.split(":")
        obj = service.objects[key]
        for verb in verbs.split(","):
            pattern, descriptions, requests = GENERIC[verb]
            words = {"one": obj.one, "many": obj.many}
            name = pattern.format(**{k: v.replace(" ", "_") for k, v in words.items()})
            fields = [f for f, _ in obj.fields]
            described = ", ".join(fields[:-1]) + " or " + fields[-1] if len(fields) > 1 else ""
            description = rng.choice(descriptions).format(
                **words, S=service.label, has=obj.has, keys=obj.keys, fields=described
            )
            made.append(
                Tool(f"{service.key}_{name}", articles(description), service, requests, obj, verb)
            )
    for suffix, description, requests in service.tools:
        made.append(Tool(f"{service.key}_{suffix}", description, service, requests))
    return made


class Writer:
    """Requests, drawn from templates: [a|b] picks one, {slot} fills from the pools."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def expand(self, template: str, service: Service, cache: dict[str, str]) -> str:
        text = template
        while CHOICE.search(text):
            text = CHOICE.sub(lambda m: self.rng.choice(m.group(1).split("|")), text)
        return SLOT.sub(lambda m: self.slot(m.group(1), service, cache), text)

    def slot(self, name: str, service: Service, cache: dict[str, str]) -> str:
        if name in cache:
            return cache[name]
        if ":" in name:  # an object of the service: o said, os said of several, r one, n new
            kind, key = name.split(":")
            obj = service.objects[key]
            raw = {"o": obj.said, "os": obj.saids or plural_said(obj.said), "r": obj.ref,
                   "n": obj.new, "q": obj.query}[kind]  # fmt: skip
            return self.expand(raw, service, cache)
        rng = self.rng
        value: str
        if name in ("Name", "Name2"):
            taken = cache.get("Name") if name == "Name2" else None
            while True:
                first, last = rng.choice(FIRST), rng.choice(LAST)
                value = f"{first} {last}"
                if value != taken:
                    break
            if name == "Name":
                cache.setdefault("First", first)
                cache.setdefault("Last", last)
        elif name in ("First", "Last"):
            self.slot("Name", service, cache)
            return cache[name]
        elif name in ("first", "last"):
            value = self.slot(name.capitalize(), service, cache).lower()
        elif name == "email":
            first = cache.get("First", rng.choice(FIRST)).lower()
            last = cache.get("Last", rng.choice(LAST)).lower()
            form = rng.choice(("{f}.{l}", "{f}", "{f0}{l}", "{f}{n}"))
            local = form.format(f=first, l=last, f0=first[0], n=rng.randint(1, 99))
            value = f"{local}@{rng.choice(POOLS['domain'])}"
        elif name == "phone":
            value = rng.choice(
                (f"(555) {rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
                 f"+1 {rng.choice(POOLS['areacode'])} 555 {rng.randint(1000, 9999)}",
                 f"+44 20 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
                 f"555-{rng.randint(1000, 9999)}")
            )  # fmt: skip
        elif name in NUMBERS:
            low, high = NUMBERS[name]
            value = str(rng.randint(low, high))
        elif name in ("hex", "sha"):
            value = "".join(
                rng.choice("0123456789abcdef") for _ in range(8 if name == "hex" else 7)
            )
        elif name == "iid":
            value = "i-0" + "".join(rng.choice("0123456789abcdef") for _ in range(12))
        elif name == "pod":
            tail = "".join(rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
            value = f"{self.slot('svc', service, cache)}-{rng.randint(5, 9)}d{rng.randint(10, 99)}f-{tail}"
        elif name == "conf":
            value = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))
        elif name in ("lat", "lon"):
            value = f"{rng.uniform(-60, 60) if name == 'lat' else rng.uniform(-120, 150):.4f}"
        else:
            pool = POOLS[name]
            first_of = cache.get(name[:-1]) if name.endswith("2") else None
            raw = rng.choice(pool)
            value = self.expand(raw, service, cache)
            for _ in range(5):  # a second one apart from the first
                if value != first_of:
                    break
                value = self.expand(rng.choice(pool), service, cache)
        cache[name] = value
        return value

    def request(self, tool: Tool) -> str:
        """One request for `tool`, as a user might type it."""
        rng, service = self.rng, tool.service
        cache: dict[str, str] = {}
        template = rng.choice(tool.requests)
        if tool.obj is not None:  # a generic verb on an object
            obj = tool.obj
            if obj.fields:
                field_said, value = rng.choice(obj.fields)
                cache["field"] = field_said
                cache["value"] = self.expand(value, service, cache)
            key = next(k for k, o in service.objects.items() if o is obj)
            template = (
                template.replace("{o}", f"{{o:{key}}}")
                .replace("{os}", f"{{os:{key}}}")
                .replace("{r}", f"{{r:{key}}}")
                .replace("{n}", f"{{n:{key}}}")
                .replace("{q}", f"{{q:{key}}}")
            )
        core = self.expand(template, service, cache)
        core = " ".join(core.replace(" ,", ",").replace(" :", ":").replace(" ?", "?").split())
        core = articles(core)
        if rng.random() < service.mention:
            core = self.mention(core, rng.choice(service.says))
        return self.dress(core)

    def mention(self, core: str, says: str) -> str:
        """The service named, at the end (before a question mark) or at the start."""
        if self.rng.random() < 0.3:
            return f"{says}, {core}"
        if core.endswith("?"):
            return f"{core[:-1]} {says}?"
        return f"{core} {says}"

    def dress(self, core: str) -> str:
        rng = self.rng
        first = core.split(" ", 1)[0].lower().strip(",:")
        if core.endswith("?"):
            text = rng.choice(OPENERS) + core
        elif first in ORDERS and rng.random() < 0.7:
            text = rng.choice(POLITE).format(x=core)
            if not text.endswith("?"):
                text += rng.choice(CLOSERS)
        else:
            text = rng.choice(OPENERS) + core + rng.choice(CLOSERS)
        style = rng.random()
        if style < 0.5:
            text = text[:1].upper() + text[1:]
        elif style < 0.6:
            text = text.lower()
        if rng.random() < 0.12:
            text = self.typos(text)
        return text

    def typos(self, text: str) -> str:
        """A slip of the finger in an ordinary word (never in ids, emails or names)."""
        words = text.split(" ")
        plain = [i for i, w in enumerate(words) if w.isalpha() and w.islower() and len(w) >= 5]
        if not plain:
            return text
        i = self.rng.choice(plain)
        w, k = words[i], self.rng.randint(1, len(words[i]) - 3)
        words[i] = self.rng.choice(
            (w[:k] + w[k + 1] + w[k] + w[k + 2 :], w[:k] + w[k + 1 :], w[:k] + w[k] + w[k:])
        )
        return " ".join(words)


def generate(seed: int = SEED) -> dict[str, object]:
    rng = random.Random(seed)
    tools = [tool for service in SERVICES for tool in tools_of(service, rng)]
    # Traffic: every tool once, the rest by a Zipf law over the tools in a random order.
    order = rng.sample(range(len(tools)), len(tools))
    weights = [1.0 / (rank + 1) ** ZIPF for rank in range(len(tools))]
    asked = list(range(len(tools)))
    asked += [order[i] for i in rng.choices(range(len(tools)), weights, k=TASKS - len(tools))]
    rng.shuffle(asked)
    writer = Writer(rng)
    texts: set[str] = set()
    made: list[tuple[str, str]] = []  # (text, tool)
    for index in asked:
        tool = tools[index]
        for _ in range(100):
            text = writer.request(tool)
            if text.lower() not in texts:
                break
        else:
            raise AssertionError(f"{tool.name}: no new request after 100 tries")
        texts.add(text.lower())
        made.append((text, tool.name))
    # Held out: tasks drawn at random, never a tool's last training task.
    left = Counter(name for _, name in made)
    heldout: set[int] = set()
    for i in rng.sample(range(len(made)), len(made)):
        if len(heldout) == HELDOUT:
            break
        if left[made[i][1]] > 1:
            left[made[i][1]] -= 1
            heldout.add(i)
    splits = ["heldout" if i in heldout else "train" for i in range(len(made))]
    check(tools, made, splits)
    return {
        "id": "many_tools",
        "name": "Many Tools",
        "description": "One call among every tool of a company's toolbox of about 400 (calendar, "
        "email, chat, CRM, code hosting, payments, cloud and more, 41 services): no list of "
        "candidates per request, near-duplicate tools within and across services, and traffic "
        "that asks for a few tools often and most rarely.",
        "difficulty": "advanced",
        "tools": [{"name": t.name, "description": t.description} for t in tools],
        "tasks": [
            {"id": f"mt-{i:04d}", "text": text, "solution": [name], "intent": name, "split": split}
            for i, ((text, name), split) in enumerate(zip(made, splits, strict=True), 1)
        ],
    }


def check(tools: list[Tool], made: list[tuple[str, str]], splits: list[str]) -> None:
    """Tool names unique and valid; every tool asked for; every held-out task's tool asked for
    by a training task; no two tasks with the same text; nothing left of the templates."""
    names = [t.name for t in tools]
    if len(set(names)) != len(names):
        raise AssertionError(
            f"tools named twice: {[n for n, c in Counter(names).items() if c > 1]}"
        )
    bad = [n for n in names if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", n)]
    if bad:
        raise AssertionError(f"invalid tool names: {bad}")
    if {name for _, name in made} != set(names):
        raise AssertionError("some tool is never asked for")
    taught = {name for (_, name), split in zip(made, splits, strict=True) if split == "train"}
    untaught = {n for (_, n), s in zip(made, splits, strict=True) if s == "heldout"} - taught
    if untaught:
        raise AssertionError(f"held-out tasks for tools no training task asks for: {untaught}")
    if len({text.lower() for text, _ in made}) != len(made):
        raise AssertionError("two tasks have the same text")
    for text, name in made:
        if re.search(r"[\[\]{}]", text):
            raise AssertionError(f"{name}: template left in {text!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    scenario = generate()
    args.out.write_text(dump(scenario), encoding="utf-8")
    tasks = scenario["tasks"]
    assert isinstance(tasks, list)
    counts = Counter(t["solution"][0] for t in tasks)
    print(
        f"{args.out}: {len(counts)} tools, {len(tasks)} tasks "
        f"({sum(t['split'] == 'heldout' for t in tasks)} held out); tasks per tool: "
        f"max {max(counts.values())}, {sum(c == 1 for c in counts.values())} tools asked once"
    )


if __name__ == "__main__":
    main()
