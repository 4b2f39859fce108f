-- The reconciler: what it watches (card users, sell requests registered before any callback),
-- the record of each run, and findings tied to the run that raised them.

-- Card users, learned from callbacks (user.uuid4, user.email, card_id) or registered on the
-- admin API. The reconciler signs in as each of them (by email, with B2B-User-Ip = ip).
create table card_user (
    user_uuid     text primary key,
    email         text,
    ip            text,
    card_id       text,
    source        text        not null check (source in ('callback', 'admin')),
    first_seen_at timestamptz not null default now(),
    updated_at    timestamptz not null default now()
);

create index card_user_card on card_user (card_id) where card_id is not null;

-- Sell requests to watch even if no callback ever arrives for them: registered on the admin API
-- when they are created, or learned from Spend Card events (crypto_top_up.sell_request.id).
create table watched_sell_request (
    id            text primary key,
    user_uuid     text,
    source        text        not null check (source in ('admin', 'spend_card_event')),
    registered_at timestamptz not null default now()
);

create table reconciliation_run (
    id            bigint generated always as identity primary key,
    trigger       text        not null check (trigger in ('scheduled', 'manual')),
    status        text        not null default 'running'
                  check (status in ('running', 'succeeded', 'partial', 'failed')),
    started_at    timestamptz not null default now(),
    finished_at   timestamptz,
    items_checked int         not null default 0,
    findings      int         not null default 0,
    errors        int         not null default 0,
    error_detail  jsonb       not null default '[]'::jsonb
);

create index reconciliation_run_started on reconciliation_run (started_at desc);

alter table finding add column run_id bigint references reconciliation_run (id);
create index finding_open on finding (kind, subject) where resolved_at is null;
create index finding_run on finding (run_id) where run_id is not null;
