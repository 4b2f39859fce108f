-- What the reconciler last saw at Mercuryo, kept for the reconciliation report (status from the
-- API, amounts, balances), and indexes for reporting by period.
alter table transaction_state
    add column api_status      text,
    add column api_amount      numeric,
    add column api_fiat_amount numeric,
    add column api_checked_at  timestamptz;

alter table card_user
    add column api_balance            numeric,
    add column api_balance_currency   text,
    add column api_balance_checked_at timestamptz;

create index transaction_state_created_at_ts on transaction_state (created_at_ts);
create index finding_detected_at on finding (detected_at);
create index spend_card_event_card_recorded on spend_card_event (card_id, recorded_at);
-- The report looks up each line's findings by subject.
create index finding_subject on finding (subject, kind);
