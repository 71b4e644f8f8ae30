"""Bulk membership sync: desired state -> plan -> apply -> verify.

[`plan_sync`][asyncgroups.sync.plan_sync] reads and compares;
[`apply`][asyncgroups.sync.apply] guards, writes and verifies; ``sources`` turns files
and other Clients into desired state. The engine uses the Client interface only, so it
works for every backend, third-party ones included.
"""

from asyncgroups.sync.apply import apply, removal_limit
from asyncgroups.sync.journal import JournalStore, RedisJournal, SQLiteJournal
from asyncgroups.sync.plan import GroupPlan, SyncPlan, plan_sync
from asyncgroups.sync.report import (
    GroupDrift,
    GroupReport,
    ProgressEvent,
    SyncReport,
    partial_report,
)
from asyncgroups.sync.sources import (
    desired_from_client,
    desired_from_csv,
    desired_from_json,
    desired_from_mapping,
)

__all__ = [
    "GroupDrift",
    "GroupPlan",
    "GroupReport",
    "JournalStore",
    "ProgressEvent",
    "RedisJournal",
    "SQLiteJournal",
    "SyncPlan",
    "SyncReport",
    "apply",
    "desired_from_client",
    "desired_from_csv",
    "desired_from_json",
    "desired_from_mapping",
    "partial_report",
    "plan_sync",
    "removal_limit",
]
