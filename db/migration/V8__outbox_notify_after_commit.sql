-- The outbox trigger's NOTIFY made every transaction that appended outbox rows take
-- PostgreSQL's notify-queue lock at commit and hold it through its WAL flush, so the ingest
-- writers' commits were serialized and their fsyncs could not overlap. The service now wakes the
-- relays after its commits instead: its own relay in-process, and relays of other instances
-- with a `select pg_notify('outbox', '')` from a session of its own, outside any write
-- transaction (OutboxNotifier). The relay still polls, so a writer that does not signal only
-- delays its rows by the poll interval, never loses them.
drop trigger outbox_notify on outbox;
drop function outbox_notify();
