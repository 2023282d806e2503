"""The domain model (SQLAlchemy 2.x typed declarative); import everything from here."""

from orchestrator.model.accounts import ApiToken, LoginFailure, SiteSecret
from orchestrator.model.base import Base, UTCDateTime
from orchestrator.model.observations import Alert, AlertDecision, Image
from orchestrator.model.pipeline import ErrorBoxReport, MasterFrame
from orchestrator.model.planning import Schedule, ScheduleEntry
from orchestrator.model.requests import (
    SEQUENCE_TRANSITIONS,
    TERMINAL_STATUSES,
    Album,
    Channel,
    Plan,
    Request,
    Sequence,
    SequenceStatus,
)
from orchestrator.model.system import (
    Command,
    DeviceStatus,
    JobHeartbeat,
    LogEntry,
    MajordomeHistory,
    MajordomeState,
    ProcessLease,
)
from orchestrator.model.users import Country, Role, ScientificProgram, User, UserLevel
from orchestrator.model.watches import (
    SiteWatch,
    SiteWatchHistory,
    WeatherHistoryBucket,
    WeatherWatch,
    WeatherWatchHistory,
)

__all__ = [
    "SEQUENCE_TRANSITIONS",
    "TERMINAL_STATUSES",
    "Album",
    "ApiToken",
    "Alert",
    "AlertDecision",
    "Base",
    "Channel",
    "Command",
    "Country",
    "DeviceStatus",
    "ErrorBoxReport",
    "Image",
    "JobHeartbeat",
    "LogEntry",
    "LoginFailure",
    "MajordomeHistory",
    "MajordomeState",
    "MasterFrame",
    "Plan",
    "ProcessLease",
    "Request",
    "Role",
    "Schedule",
    "ScheduleEntry",
    "ScientificProgram",
    "Sequence",
    "SequenceStatus",
    "SiteSecret",
    "SiteWatch",
    "SiteWatchHistory",
    "User",
    "UserLevel",
    "UTCDateTime",
    "WeatherHistoryBucket",
    "WeatherWatch",
    "WeatherWatchHistory",
]
