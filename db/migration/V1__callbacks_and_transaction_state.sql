-- Foundation: every verified callback verbatim, the idempotent event tables, the monotonic
-- transaction state with its transition history, and quarantine for signed-but-invalid bodies.

-- Every verified delivery, byte for byte, including duplicates (Mercuryo's retries are part of
-- the audit trail). Append-only and the largest table: partitioned by month of receipt so old
-- months can be detached and dropped cheaply. Uniqueness lives in the narrow tables below.
create table callback (
    id                bigint generated always as identity,
    received_at       timestamptz not null default now(),
    route             text        not null check (route in ('transaction', 'spend_card')),
    body              bytea       not null,
    body_sha256       bytea       not null,
    signature_key     text        not null,  -- fingerprint (SHA-256 prefix) of the Sign Key that verified it
    signature_variant text        not null check (signature_variant in ('raw', 'whitespace_stripped')),
    outcome           text        not null check (outcome in ('accepted', 'duplicate', 'quarantined')),
    transaction_id    text,
    event_id          uuid,
    primary key (id, received_at)
) partition by range (received_at);

create index callback_transaction_id on callback (transaction_id, received_at) where transaction_id is not null;
create index callback_event_id on callback (event_id) where event_id is not null;

-- Rows older or newer than the prepared months still have a home.
create table callback_default partition of callback default;

-- Creates monthly partitions [from, from + months). Called here for the current window and by
-- the service at start (idempotent), so a long-running deployment never falls into the default.
create function ensure_callback_partitions(from_month date, months int) returns void
language plpgsql as $$
declare
    m date;
begin
    for i in 0 .. months - 1 loop
        m := date_trunc('month', from_month)::date + make_interval(months => i);
        execute format(
            'create table if not exists %I partition of callback for values from (%L) to (%L)',
            'callback_p' || to_char(m, 'YYYYMM'), m, (m + interval '1 month')::date);
    end loop;
end;
$$;

select ensure_callback_partitions((current_date - interval '1 month')::date, 4);

-- One row per distinct transaction callback. The unique key is the dedupe rule of DESIGN.md:
-- (id, status, updated_at_ts). Concurrent duplicates race on this constraint, never on a read.
create table transaction_event (
    id             bigint generated always as identity primary key,
    transaction_id text        not null,
    status         text        not null,
    updated_at_ts  bigint      not null,
    callback_id    bigint,     -- null when the reconciler detected it
    detected_by    text        not null check (detected_by in ('callback', 'reconciler')),
    data           jsonb       not null,  -- the "data" object exactly as parsed, unknown fields kept
    recorded_at    timestamptz not null default now(),
    constraint transaction_event_dedupe unique (transaction_id, status, updated_at_ts)
);

-- The current state of each Mercuryo transaction. It only moves forward: by updated_at_ts,
-- then by status rank; a final status never changes.
create table transaction_state (
    transaction_id          text primary key,
    transaction_type        text,
    payment_method          text,
    status                  text        not null,
    status_rank             int         not null,
    final                   boolean     not null,
    updated_at_ts           bigint      not null,
    created_at_ts           bigint,
    merchant_transaction_id text,
    amount                  numeric,
    currency                text,
    fiat_amount             numeric,
    fiat_currency           text,
    fee                     numeric,
    partner_fee             numeric,
    rate                    numeric,
    user_uuid               text,
    user_email              text,
    last_sequence           int         not null,
    last_detected_by        text        not null,
    first_seen_at           timestamptz not null default now(),
    last_changed_at         timestamptz not null default now()
);

create index transaction_state_open on transaction_state (updated_at_ts) where not final;
create index transaction_state_merchant_id on transaction_state (merchant_transaction_id);
create index transaction_state_user on transaction_state (user_uuid);

-- The history of status changes: sequence counts the transitions of one transaction from 1,
-- without gaps, so consumers can detect a missing message.
create table status_transition (
    id                bigint generated always as identity primary key,
    transaction_id    text        not null references transaction_state (transaction_id),
    sequence          int         not null check (sequence >= 1),
    previous_status   text,
    status            text        not null,
    final             boolean     not null,
    status_changed_at timestamptz not null,
    detected_by       text        not null check (detected_by in ('callback', 'reconciler')),
    event_id          bigint      not null references transaction_event (id),
    recorded_at       timestamptz not null default now(),
    constraint status_transition_sequence unique (transaction_id, sequence)
);

-- Spend Card events (card_status, crypto_top_up, card_transaction, and names not known yet),
-- deduplicated by Mercuryo's event_id.
create table spend_card_event (
    event_id     uuid primary key,
    event_name   text        not null,
    card_id      text,
    user_uuid    text,
    callback_id  bigint      not null,
    data         jsonb       not null,
    recorded_at  timestamptz not null default now()
);

create index spend_card_event_card on spend_card_event (card_id) where card_id is not null;
create index spend_card_event_user on spend_card_event (user_uuid) where user_uuid is not null;

-- Signed bodies that could not be parsed or validated: authentic data, kept and replayable.
create table quarantine (
    id           bigint generated always as identity primary key,
    callback_id  bigint      not null,
    route        text        not null,
    body         bytea       not null,
    reason       text        not null,
    received_at  timestamptz not null default now(),
    replayed_at  timestamptz,
    replay_result text
);

create index quarantine_open on quarantine (received_at) where replayed_at is null;

-- Things that disagree with what we hold and must not be silently overwritten, e.g. a second,
-- different final status for one transaction. The reconciler adds its own kinds later.
create table finding (
    id           bigint generated always as identity primary key,
    kind         text        not null,
    subject      text        not null,
    expected     text,
    actual       text,
    detail       jsonb,
    detected_by  text        not null,
    detected_at  timestamptz not null default now(),
    resolved_at  timestamptz,
    constraint finding_once unique (kind, subject, actual)
);
