import ITSMPostgres

/// The `service` schema: the service catalogue, the request catalogue (items with their form,
/// approval levels, fulfilment tasks and target), and the requests raised from it with their
/// approvals and tasks.
public enum ServiceSchema {
    public static let name = "service"

    public static let migrations: [Migration] = [
        Migration(version: 1, name: "service catalogue, request catalogue, requests, approvals, tasks", sql: """
            CREATE SCHEMA service;

            CREATE TABLE service.service (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
                description text NOT NULL DEFAULT '',
                owner text,
                status text NOT NULL DEFAULT 'live' CHECK (status IN ('pipeline', 'live', 'retired')),
                customers text[] NOT NULL DEFAULT '{}',
                cis text[] NOT NULL DEFAULT '{}',
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE UNIQUE INDEX service_name ON service.service (lower(name));

            -- What can be asked for: a form (a JSON Schema of the answers), approval levels,
            -- fulfilment tasks and a target in business minutes.
            CREATE TABLE service.item (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                name text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
                service_id uuid NOT NULL REFERENCES service.service (id),
                title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
                description text NOT NULL DEFAULT '',
                form jsonb NOT NULL,
                approvals jsonb NOT NULL DEFAULT '[]',
                tasks jsonb NOT NULL,
                target_minutes integer NOT NULL CHECK (target_minutes > 0),
                calendar jsonb NOT NULL,
                active boolean NOT NULL DEFAULT true,
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX item_service ON service.item (service_id);

            -- A request keeps the item as it was when raised, so a later change to the
            -- catalogue does not change what was approved or how it is measured.
            CREATE SEQUENCE service.request_number;
            CREATE TABLE service.request (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                number text NOT NULL UNIQUE DEFAULT 'REQ-' || lpad(nextval('service.request_number')::text, 6, '0'),
                item_id uuid NOT NULL REFERENCES service.item (id),
                item jsonb NOT NULL,
                requester text NOT NULL,
                answers jsonb NOT NULL,
                status text NOT NULL CHECK (status IN ('awaiting_approval', 'in_fulfilment', 'fulfilled', 'rejected', 'cancelled')),
                approval_level integer NOT NULL DEFAULT 0,
                fulfilment_started_at timestamptz,
                due_at timestamptz,
                ended_at timestamptz,
                business_minutes numeric(12, 2),
                met boolean,
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX request_requester ON service.request (requester, created_at DESC);
            CREATE INDEX request_open ON service.request (status, created_at) WHERE status IN ('awaiting_approval', 'in_fulfilment');

            -- One row per decision taken at a level.
            CREATE TABLE service.approval (
                request_id uuid NOT NULL REFERENCES service.request (id),
                level integer NOT NULL,
                decision text NOT NULL CHECK (decision IN ('approved', 'rejected')),
                decided_by text NOT NULL,
                comment text NOT NULL DEFAULT '',
                decided_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (request_id, level)
            );

            CREATE TABLE service.task (
                request_id uuid NOT NULL REFERENCES service.request (id),
                position integer NOT NULL,
                name text NOT NULL,
                assignment_group text,
                after text[] NOT NULL DEFAULT '{}',
                status text NOT NULL CHECK (status IN ('waiting', 'ready', 'done', 'cancelled')),
                assignee text,
                ready_at timestamptz,
                done_at timestamptz,
                done_by text,
                notes text NOT NULL DEFAULT '',
                PRIMARY KEY (request_id, position),
                UNIQUE (request_id, name)
            );
            CREATE INDEX task_ready ON service.task (assignment_group) WHERE status = 'ready';

            -- Every change to a service, an item or a request, append-only.
            CREATE TABLE service.history (
                id bigserial PRIMARY KEY,
                record text NOT NULL,
                at timestamptz NOT NULL DEFAULT now(),
                actor text NOT NULL,
                field text NOT NULL,
                old_value text,
                new_value text
            );
            CREATE INDEX history_record ON service.history (record, id);
            CREATE FUNCTION service.refuse_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'service history is append-only';
            END $$;
            CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON service.history
                FOR EACH ROW EXECUTE FUNCTION service.refuse_history_change();
            """),
        Migration(version: 2, name: "customers, service level agreements, service reviews", sql: """
            -- Organisations the services are provided to, and the people who speak for them.
            CREATE TABLE service.customer (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                description text NOT NULL DEFAULT '',
                status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE UNIQUE INDEX customer_name ON service.customer (lower(name));
            -- A person speaks for one customer.
            CREATE TABLE service.customer_contact (
                account text PRIMARY KEY,
                customer_id uuid NOT NULL REFERENCES service.customer (id)
            );
            CREATE INDEX customer_contact_customer ON service.customer_contact (customer_id);

            -- What was agreed with a customer for one service, for a period.
            CREATE TABLE service.agreement (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                reference text NOT NULL UNIQUE CHECK (length(reference) BETWEEN 1 AND 100),
                customer_id uuid NOT NULL REFERENCES service.customer (id),
                service_id uuid NOT NULL REFERENCES service.service (id),
                status text NOT NULL CHECK (status IN ('draft', 'active', 'terminated')),
                valid_from date NOT NULL,
                valid_to date NOT NULL CHECK (valid_to >= valid_from),
                review_due date,
                targets jsonb NOT NULL,
                calendar jsonb NOT NULL,
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX agreement_customer ON service.agreement (customer_id, valid_from);

            -- Whose request it is, as it was when raised: reports count it for that customer.
            ALTER TABLE service.request ADD COLUMN customer_id uuid REFERENCES service.customer (id);
            CREATE INDEX request_customer ON service.request (customer_id, created_at);

            CREATE SEQUENCE service.review_number;
            CREATE TABLE service.review (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                number text NOT NULL UNIQUE DEFAULT 'SR-' || lpad(nextval('service.review_number')::text, 4, '0'),
                customer_id uuid NOT NULL REFERENCES service.customer (id),
                held_on date NOT NULL,
                period_from timestamptz,
                period_to timestamptz,
                attendees text[] NOT NULL,
                findings text NOT NULL,
                recorded_by text NOT NULL,
                recorded_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE service.review_action (
                review_id uuid NOT NULL REFERENCES service.review (id),
                position integer NOT NULL,
                description text NOT NULL,
                owner text NOT NULL,
                due_on date NOT NULL,
                done_at timestamptz,
                done_by text,
                outcome text,
                PRIMARY KEY (review_id, position)
            );
            CREATE INDEX review_action_open ON service.review_action (due_on) WHERE done_at IS NULL;
            """),
        Migration(version: 3, name: "approval reminders and timeouts", sql: """
            -- When the level a request waits on opened, and the last level its approvers were
            -- reminded of: reminders go once per level, timeouts count from the level's start.
            ALTER TABLE service.request ADD COLUMN level_started_at timestamptz, ADD COLUMN reminded_level integer;
            UPDATE service.request r SET level_started_at = coalesce(
                (SELECT max(decided_at) FROM service.approval a WHERE a.request_id = r.id), r.created_at)
            WHERE status = 'awaiting_approval';
            CREATE INDEX request_awaiting ON service.request (level_started_at) WHERE status = 'awaiting_approval';
            """),
        Migration(version: 4, name: "service names in use adopted once", sql: """
            -- When the service names incident records used before the catalogue were adopted.
            CREATE TABLE service.adoption (
                source text PRIMARY KEY,
                adopted_at timestamptz NOT NULL DEFAULT now(),
                names text[] NOT NULL
            );
            """),
        Migration(version: 5, name: "request lists by cursor", sql: """
            -- request.list pages newest first by (created_at, number).
            CREATE INDEX request_newest ON service.request (created_at, number);
            """),
    ]
}
