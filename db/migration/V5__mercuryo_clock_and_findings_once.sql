-- The reconciler trusts only what Mercuryo documents.
--
-- 1. Mercuryo's clock, not ours. updated_at_ts is Mercuryo's time of the last *callback* applied
--    to a transaction; an API read carries no Mercuryo timestamp, so its event and transition have
--    none (our observation time is recorded_at). Earlier versions stamped API reads with our clock.
alter table transaction_state alter column updated_at_ts drop not null;
alter table transaction_event alter column updated_at_ts drop not null;
alter table status_transition alter column status_changed_at drop not null;

-- A state last moved by an API read gets back the Mercuryo time of its last callback (or none),
-- so a later real callback is compared with Mercuryo's time, not with the time we polled.
update transaction_state s
   set updated_at_ts = (select max(e.updated_at_ts) from transaction_event e
                         where e.transaction_id = s.transaction_id and e.detected_by = 'callback')
 where s.last_detected_by = 'reconciler';

-- One API observation per (transaction, status): nulls are not distinct in the dedupe key.
alter table transaction_event drop constraint transaction_event_dedupe;
alter table transaction_event add constraint transaction_event_dedupe
    unique nulls not distinct (transaction_id, status, updated_at_ts);

-- 2. Findings exactly once per observation, nulls included: one finding per (kind, subject,
--    actual). Earlier versions raised a new missing_at_mercuryo finding (actual null) on every run;
--    those repeats announced the same observation again and are folded into the first.
delete from finding f
 using finding first
 where f.kind = first.kind and f.subject = first.subject
   and f.actual is not distinct from first.actual
   and f.id > first.id;
alter table finding drop constraint finding_once;
alter table finding add constraint finding_once unique nulls not distinct (kind, subject, actual);

-- A resolved finding that is observed again is reopened and announced again: occurrence counts
-- its announcements (the CloudEvent id of a re-announcement carries it), last_detected_at is when.
alter table finding
    add column occurrence       int         not null default 1,
    add column last_detected_at timestamptz;
update finding set last_detected_at = detected_at;
alter table finding alter column last_detected_at set not null,
                    alter column last_detected_at set default now();

-- 3. Who is a card user. Only Spend Card activity or an admin registration makes one; earlier
--    versions also learned every buyer, withdrawer and depositor from transaction callbacks, and
--    signing those in would open Mercuryo accounts and accept terms on their behalf.
delete from card_user c
 where c.source = 'callback'
   and not exists (select 1 from spend_card_event e where e.user_uuid = c.user_uuid)
   and not exists (select 1 from transaction_state s
                    where s.user_uuid = c.user_uuid and s.payment_method like 'spend\_card%');

-- 4. A run lists who could not be checked for want of a registration (e-mail, real IP), and why a
--    run failed as a whole (e.g. a base URL that does not answer like Mercuryo).
alter table reconciliation_run
    add column needs_registration jsonb not null default '[]'::jsonb,
    add column failure            text;
