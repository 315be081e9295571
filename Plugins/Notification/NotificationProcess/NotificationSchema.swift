import ITSMPostgres

/// The `notification` schema: rules (event and filters → recipients), their history, and one
/// delivery per event, channel and recipient.
public enum NotificationSchema {
    public static let name = "notification"

    public static let migrations: [Migration] = [
        Migration(version: 1, name: "rules, their history and deliveries", sql: """
            CREATE SCHEMA notification;

            CREATE TABLE notification.rule (
                id serial PRIMARY KEY,
                name text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
                event_type text NOT NULL,
                filters jsonb NOT NULL DEFAULT '{}',
                recipients jsonb NOT NULL,
                -- The rule's own wording (subject, text), else the event's default.
                template jsonb,
                enabled boolean NOT NULL DEFAULT true,
                builtin boolean NOT NULL DEFAULT false,
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX rule_event ON notification.rule (event_type) WHERE enabled;

            CREATE TABLE notification.history (
                id bigserial PRIMARY KEY,
                record text NOT NULL,
                at timestamptz NOT NULL DEFAULT now(),
                actor text NOT NULL,
                field text NOT NULL,
                old_value text,
                new_value text
            );
            CREATE INDEX history_record ON notification.history (record, id);
            CREATE FUNCTION notification.refuse_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'notification history is append-only';
            END $$;
            CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON notification.history
                FOR EACH ROW EXECUTE FUNCTION notification.refuse_history_change();

            -- One row per event, channel and recipient (the first rule that names them): the key
            -- makes a redelivered event, a second instance or a second rule add nothing. The
            -- content is rendered when the event arrives, so the record shows exactly what was sent.
            CREATE TABLE notification.delivery (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                event_id uuid NOT NULL,
                event_type text NOT NULL,
                subject text,
                rule_id integer NOT NULL REFERENCES notification.rule (id),
                channel text NOT NULL CHECK (channel IN ('email', 'webhook')),
                recipient text NOT NULL,
                content jsonb NOT NULL,
                -- The event's payload, for webhooks that carry it.
                event_data jsonb NOT NULL,
                status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
                attempts integer NOT NULL DEFAULT 0,
                next_attempt_at timestamptz NOT NULL DEFAULT now(),
                claimed_at timestamptz,
                last_error text,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                sent_at timestamptz,
                UNIQUE (event_id, channel, recipient)
            );
            CREATE INDEX delivery_due ON notification.delivery (next_attempt_at) WHERE status IN ('pending', 'sending');
            CREATE INDEX delivery_created ON notification.delivery (created_at DESC);

            -- What a service desk expects with no setup: the assignee hears of an assignment and
            -- of their SLA warnings and breaches; the caller hears that their incident is resolved.
            INSERT INTO notification.rule (name, event_type, recipients, builtin, created_by) VALUES
                ('assignee-on-assignment', 'incident.assigned', '[{"kind": "assignee"}]', true, 'itsm'),
                ('assignee-on-sla-warning', 'incident.sla_warning', '[{"kind": "assignee"}]', true, 'itsm'),
                ('assignee-on-sla-breach', 'incident.sla_breached', '[{"kind": "assignee"}]', true, 'itsm'),
                ('caller-on-resolution', 'incident.resolved', '[{"kind": "caller"}]', true, 'itsm');
            """),
        Migration(version: 2, name: "alert groups and their incidents", sql: """
            -- An Alertmanager alert group and the incident it is recorded on; a group that fires
            -- again after its incident was resolved starts a new generation and a new incident.
            CREATE TABLE notification.alert_group (
                group_hash text PRIMARY KEY,
                group_key text NOT NULL,
                incident text,
                generation integer NOT NULL,
                open boolean NOT NULL,
                -- The alerts (fingerprint@start) already on the incident.
                noted text[] NOT NULL DEFAULT '{}',
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            """),
        Migration(version: 3, name: "mail read from the desk's mailbox", sql: """
            -- Each message once, by its Message-ID, with what became of it.
            CREATE TABLE notification.inbound (
                message_id text PRIMARY KEY,
                sender text NOT NULL,
                subject text NOT NULL,
                action text NOT NULL CHECK (action IN ('created', 'commented', 'ignored')),
                record text,
                reason text,
                received_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX inbound_received ON notification.inbound (received_at DESC);
            """),
        Migration(version: 4, name: "default rules for service requests", sql: """
            -- Approvers hear that a request waits on them (and once more when it waited too long),
            -- a task's group that the task is theirs, and the requester how it ended.
            INSERT INTO notification.rule (name, event_type, recipients, builtin, created_by) VALUES
                ('approver-on-approval-requested', 'request.approval_requested', '[{"kind": "approver"}]', true, 'itsm'),
                ('approver-on-approval-reminder', 'request.approval_reminder', '[{"kind": "approver"}]', true, 'itsm'),
                ('group-on-task-ready', 'request.task_ready', '[{"kind": "group"}]', true, 'itsm'),
                ('requester-on-fulfilment', 'request.fulfilled', '[{"kind": "requester"}]', true, 'itsm'),
                ('requester-on-rejection', 'request.rejected', '[{"kind": "requester"}]', true, 'itsm')
            ON CONFLICT (name) DO NOTHING;
            """),
        Migration(version: 5, name: "notification lists by cursor", sql: """
            -- Newest first with the id breaking ties (one event's notifications share a time):
            -- a page starts where the last ended, by index, however deep.
            CREATE INDEX delivery_created_id ON notification.delivery (created_at DESC, id DESC);
            DROP INDEX notification.delivery_created;
            """),
    ]
}
