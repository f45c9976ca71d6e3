"""The store's interface and the values it hands out. Implementations: orm.py (portable), postgresql.py."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol

from campaigns.models import Campaign, CampaignCall, Outcome, call_reference
from providers.models import ProviderConnection

State = Campaign.State
Call = CampaignCall.State

# Lock namespaces (PostgreSQL advisory locks; the ORM store locks rows instead). In PostgreSQL, not Redis:
# they must hold exactly when Redis is lost.
LOCK_WORKSPACE, LOCK_POOL = 0x5041, 0x504F
# A destination, for a batch counting its attempts (the PostgreSQL store: batches of a workspace run at once).
LOCK_DESTINATION = 0x5044


class Claim(Protocol):
    """A pacer claim (pacing.pacer.Claim): a number for a call at a time on the pacer's clock."""

    call_id: str
    number: str
    at_ms: int


class Job(NamedTuple):
    """A reserved call and the claim it holds: what its dial task carries."""

    call_id: int
    attempt_id: int


class Answer(NamedTuple):
    """A provider's final answer to a dial: the call (under its claim) placed or failed."""

    call_id: int
    attempt_id: int
    state: str  # placed | failed
    provider_call_id: str | None
    error: str
    finished_at: datetime
    # A final status the provider knew at once (the sandbox's "completed"), written with the answer: one
    # that needs nothing more (a no-answer or busy goes through outcome_record, for its retry)
    heard: Heard | None = None


class Heard(NamedTuple):
    """A placed call's progress as its provider reported it (campaigns/outcomes.py builds it)."""

    provider_call_id: str
    rank: int  # STATUS_RANKS; SETTLED_RANK and above settle the outcome
    outcome: str  # CampaignCall.Outcome's value when it settles, else ""
    answered: bool | None
    answered_at: datetime | None
    duration_s: int | None
    cause: str


def heard_fields(heard: Heard | None) -> dict:
    """A final status known with the dial's answer (Answer.heard), as the call's fields."""
    if heard is None:
        return {}
    return {
        "progress": heard.rank,
        "outcome": heard.outcome,
        "answered": heard.answered,
        "duration_s": heard.duration_s,
    }


def attempt_answered(heard: Heard) -> bool | None:
    """Whether a settled claim was answered, as its attempt keeps it: a final status that does not say is
    answered only when completed; "unknown" stays unknown."""
    if heard.answered is None and heard.outcome != Outcome.UNKNOWN:
        return heard.outcome == Outcome.COMPLETED
    return heard.answered


class Recorded(NamedTuple):
    """What a call had heard before a status was recorded on it."""

    progress: int
    state: str


# A call's progress from this rank on has an outcome: "unknown" (35, the provider never said) is below the
# final statuses' 40, so a callback that comes late still settles a call given up on.
SETTLED_RANK = 35
# The states a status callback may find its call in: in dialing (the callback outran the dial's answer),
# checking (the answer was lost) or unknown (left for review), it is proof that the provider placed it.
HEARD_STATES = (Call.DIALING, Call.CHECKING, Call.UNKNOWN, Call.PLACED)


class Tally(NamedTuple):
    """A due call's attempts, against its destination's caps (campaigns/caps.py)."""

    campaign: int  # its claims a dial task took: this campaign's attempts to its destination
    day: int  # its destination's dials since the call's local midnight, across the workspace, and in flight
    zone: int  # its zone set (campaign.zones index)


class Look(NamedTuple):
    """What a dispatch batch sees once it holds its locks."""

    state: str | None  # the campaign's (None: gone)
    queued: int  # its calls reserved and not yet taken by a dial task


@dataclass(frozen=True, slots=True)
class Taken:
    """A call a dial task moved to dialing, with everything dialing it needs."""

    call_id: int
    attempt_id: int
    workspace_id: int
    campaign_id: int
    to_e164: str
    from_e164: str
    number_id: int | None
    unavailable_tries: int
    at_ms: int | None  # its claim, on the pacer's clock (None: the attempt is gone)
    number_active: bool  # the caller ID may call out: active and not on hold (deleted, awaiting release)
    connection: ProviderConnection | None  # the caller ID's, whole (None: the number is gone)

    @property
    def reference(self) -> str:
        return call_reference(self.call_id, self.attempt_id)


class Store(ABC):
    """The campaign engine's database work. Every move of a call is guarded by the state it leaves (and,
    from reserved on, the claim it holds), so a task delivered twice, retried or running late finds the
    call moved on and does nothing. Each method runs in the caller's transaction where it has one; the
    locks are transaction-scoped."""

    # ---- Locks --------------------------------------------------------------------------------------

    @abstractmethod
    def lock_workspace(self, workspace_id: int) -> None:
        """The workspace exclusively, waiting: the pacer's rebuild, against every dispatch batch."""

    @abstractmethod
    def batch_begin(self, campaign: Campaign) -> Look | None:
        """A dispatch batch's locks (the workspace shared, the campaign's pool exclusively; both tried, never
        waited for) and what the batch sees then; None when a rebuild holds the workspace or another
        dispatcher the pool: the batch skips its turn."""

    # ---- Dispatch -----------------------------------------------------------------------------------

    @abstractmethod
    def due(self, campaign_id: int, now: datetime, most: int) -> list[int]:
        """The campaign's due calls, oldest first, locked for this batch (calls another batch holds are
        skipped)."""

    @abstractmethod
    def reserve(
        self, campaign: Campaign, claims: list[Claim], numbers: dict[str, int], *, at: datetime, now: datetime
    ) -> list[Job]:
        """Record each claim as an attempt and move its call pending -> reserved under it (`numbers`: the
        claimed numbers' ids). Every call must move: one that does not rolls the batch back."""

    @abstractmethod
    def suppress(self, reasons: dict[int, str], now: datetime) -> list[int]:
        """pending -> suppressed, each call with its reason (the do-not-call entry that stops it), if and
        only if it is still pending; the ids moved. A suppressed call is final: never dialed."""

    @abstractmethod
    def tally(self, workspace_id: int, call_ids: list[int], day_starts: list[datetime]) -> dict[int, Tally]:
        """The due calls' attempts (`day_starts`: the local midnight of each zone set, by campaign.zones
        index; the first stands for a zone out of range), in one statement (PostgreSQL: two, its locks
        first). A call whose destination another batch is counting or reserving at the moment is left out:
        it waits for the next batch, so two batches never both let one destination past its cap."""

    @abstractmethod
    def hold(self, reasons: dict[int, str], now: datetime) -> list[int]:
        """pending -> held (final, never dialed again), each call with its reason (the cap it reached), if
        and only if it is still pending; the ids moved."""

    @abstractmethod
    def day_wait(self, waits: dict[int, tuple[datetime, str]]) -> int:
        """Pending calls at their destination's daily cap: not due before (until), with the reason shown
        meanwhile; how many moved. One statement."""

    @abstractmethod
    def outcome_move(self, call_id: int, attempt_id: int, frm: Sequence[str], **fields) -> bool:
        """Move a call on its final outcome (campaigns/retries.py) if, and only if, it is still in one of
        `frm` under the same claim and its campaign is open (a finished or cancelled one dials no more)."""

    @abstractmethod
    def hold_back(self, call_ids: list[int], until: datetime) -> None:
        """Pending calls the pacer had no number for: not due before `until`."""

    @abstractmethod
    def hours_wait(self, campaign_id: int, now: datetime, opens: dict[int, datetime]) -> int:
        """Calling hours: the campaign's pending calls due by `now` whose zone set (campaign.zones index) is
        closed wait for its opening, `opens[zone]`; how many moved. Guarded by their state (pending)."""

    @abstractmethod
    def next_due(self, campaign_id: int) -> datetime | None:
        """When the campaign's next pending call comes due (None: none pending)."""

    @abstractmethod
    def in_flight(self, campaign_id: int) -> bool:
        """Whether any of the campaign's calls is reserved, dialing or being checked."""

    @abstractmethod
    def campaign_move(self, campaign_id: int, frm: str, to: str, **fields) -> bool:
        """Move a campaign if, and only if, it is still in `frm`."""

    @abstractmethod
    def campaign_note(self, campaign_ids: list[int], **fields) -> None:
        """The engine's bookkeeping on campaigns (paced until, pool synced at)."""

    # ---- Dial ---------------------------------------------------------------------------------------

    @abstractmethod
    def take(self, call_id: int, attempt_id: int, now: datetime) -> Taken | None:
        """reserved -> dialing, if the call is still reserved under this claim and its campaign runs."""

    @abstractmethod
    def move(self, call_id: int, attempt_id: int, frm: str, **fields) -> bool:
        """Move one call if, and only if, it is still in `frm` under the same claim."""

    @abstractmethod
    def give_back(self, call_id: int, attempt_id: int, now: datetime) -> bool:
        """A call reserved under this claim whose campaign no longer runs: back to waiting."""

    @abstractmethod
    def take_chunk(self, jobs: Sequence[Job], now: datetime) -> dict[int, Taken]:
        """take() for a chunk of calls, each under its claim: the calls taken, by id."""

    @abstractmethod
    def answer_chunk(self, answers: Sequence[Answer]) -> int:
        """Each call still dialing under its claim moved to its answer; how many moved."""

    @abstractmethod
    def back_chunk(self, jobs: Sequence[Job], frm: str, now: datetime) -> int:
        """Calls still in `frm` under their claims back to waiting (nothing was sent)."""

    @abstractmethod
    def give_back_chunk(self, jobs: Sequence[Job], now: datetime) -> int:
        """give_back() for a chunk: those reserved under their claims whose campaign no longer runs."""

    # ---- Recovery -----------------------------------------------------------------------------------

    @abstractmethod
    def recover(self, reserved_before: datetime, now: datetime) -> int:
        """Reserved calls whose dial task never took them: back to waiting."""

    @abstractmethod
    def release_reserved(self, workspace_id: int, now: datetime) -> int:
        """Every reserved call of the workspace back to waiting (the pacer's rebuild)."""

    @abstractmethod
    def newest_attempts(self, workspace_id: int, since_ms: int, keep: int) -> list[tuple[str, int]]:
        """Per number its newest attempts since `since_ms`, at most `keep` of them: (e164, at_ms)s."""

    @abstractmethod
    def reconcile_take(
        self, dialing_before: datetime, due_by: datetime, ask_again_at: datetime
    ) -> int | None:
        """The next call to ask its provider about (checking, or left dialing before `dialing_before`,
        due by `due_by`), moved to checking with its next question at `ask_again_at`, in a short
        transaction of its own; its id, or None."""

    @abstractmethod
    def checking_call(self, call_id: int) -> CampaignCall:
        """A call being checked, with its number, connection and campaign."""

    # ---- Outcomes -----------------------------------------------------------------------------------

    @abstractmethod
    def outcome_record(self, call_id: int, attempt_id: int, heard: Heard, now: datetime) -> Recorded | None:
        """Record what the provider reported about the call under this claim, if it ranks above what the
        call has heard (or brings the moment it was answered, unknown so far); a dialing or checking call
        becomes placed, with the provider's id; a status that settles it (SETTLED_RANK and above, higher
        than heard) is kept on the claim's attempt too, atomically with the call (number health counts
        attempts). What it had heard before, or None when nothing changed (the same status again, a lower
        one arriving late, another claim's, a call never placed)."""

    @abstractmethod
    def outcome_take(
        self, placed_before: datetime, asked_before: datetime, now: datetime
    ) -> CampaignCall | None:
        """The next placed call whose outcome never came (placed before `placed_before`, not asked since
        `asked_before`), marked asked at `now` in a short transaction of its own (SKIP LOCKED: two runs
        ask about different calls); with its number and connection. None when there is none."""
