import ITSMPostgres

/// The `supplier` schema: suppliers and their contracts with documented targets, the hand-offs
/// of incidents to them (measured from incident events), reviews, disputes and actions.
public enum SupplierSchema {
    public static let name = "supplier"

    public static let migrations: [Migration] = [
        Migration(version: 1, name: "suppliers, contracts, targets, hand-offs, reviews, disputes, actions", sql: """
            CREATE SCHEMA supplier;

            CREATE SEQUENCE supplier.supplier_number;
            CREATE TABLE supplier.supplier (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                number text NOT NULL UNIQUE DEFAULT 'SUP-' || lpad(nextval('supplier.supplier_number')::text, 6, '0'),
                name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                kind text NOT NULL CHECK (kind IN ('external', 'internal', 'customer')),
                contacts jsonb NOT NULL DEFAULT '[]',
                services text[] NOT NULL DEFAULT '{}',
                cis text[] NOT NULL DEFAULT '{}',
                owner text,
                status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'on_hold', 'inactive')),
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE UNIQUE INDEX supplier_name ON supplier.supplier (lower(name));

            CREATE TABLE supplier.history (
                id bigserial PRIMARY KEY,
                supplier_id uuid NOT NULL REFERENCES supplier.supplier (id),
                at timestamptz NOT NULL DEFAULT now(),
                actor text NOT NULL,
                -- What changed: the supplier itself, a contract (its reference), a dispute, an action.
                record text NOT NULL,
                field text NOT NULL,
                old_value text,
                new_value text
            );
            CREATE INDEX history_supplier ON supplier.history (supplier_id, id);
            CREATE FUNCTION supplier.refuse_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'supplier history is append-only';
            END $$;
            CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON supplier.history
                FOR EACH ROW EXECUTE FUNCTION supplier.refuse_history_change();

            CREATE TABLE supplier.contract (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                supplier_id uuid NOT NULL REFERENCES supplier.supplier (id),
                reference text NOT NULL UNIQUE CHECK (length(reference) BETWEEN 1 AND 100),
                scope text NOT NULL DEFAULT '',
                starts_on date NOT NULL,
                ends_on date NOT NULL CHECK (ends_on >= starts_on),
                notice_days integer NOT NULL DEFAULT 90 CHECK (notice_days >= 0),
                renewal text NOT NULL DEFAULT 'manual' CHECK (renewal IN ('fixed_term', 'auto_renew', 'manual')),
                value numeric(16, 2),
                currency text CHECK (currency ~ '^[A-Z]{3}$'),
                documents text[] NOT NULL DEFAULT '{}',
                calendar jsonb NOT NULL,
                status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'terminated')),
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX contract_supplier ON supplier.contract (supplier_id, starts_on);
            CREATE INDEX contract_active_end ON supplier.contract (ends_on) WHERE status = 'active';

            -- Documented targets: response and resolution times per priority, availability, other terms.
            CREATE TABLE supplier.target (
                id bigserial PRIMARY KEY,
                contract_id uuid NOT NULL REFERENCES supplier.contract (id),
                kind text NOT NULL CHECK (kind IN ('response', 'resolution', 'availability', 'other')),
                priority text CHECK (priority ~ '^P[1-5]$'),
                minutes integer CHECK (minutes > 0),
                business_hours boolean NOT NULL DEFAULT true,
                percent numeric(6, 3) CHECK (percent BETWEEN 0 AND 100),
                description text NOT NULL DEFAULT ''
            );
            CREATE INDEX target_contract ON supplier.target (contract_id);

            -- Milestones already announced: the key makes each one happen once, across restarts
            -- and instances.
            CREATE TABLE supplier.milestone (
                contract_id uuid NOT NULL REFERENCES supplier.contract (id),
                kind text NOT NULL,
                due_on date NOT NULL,
                emitted_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (contract_id, kind, due_on)
            );

            -- Incidents handed to a supplier, from incident events; scored at resolution.
            CREATE TABLE supplier.handoff (
                id bigserial PRIMARY KEY,
                supplier_id uuid NOT NULL REFERENCES supplier.supplier (id),
                incident_id uuid NOT NULL,
                incident_number text NOT NULL,
                priority text,
                handed_at timestamptz NOT NULL,
                ended_at timestamptz,
                ended_how text CHECK (ended_how IN ('resolved', 'returned')),
                business_minutes numeric(12, 2),
                target_id bigint REFERENCES supplier.target (id),
                target_minutes integer,
                met boolean
            );
            CREATE UNIQUE INDEX handoff_open ON supplier.handoff (incident_id) WHERE ended_at IS NULL;
            CREATE INDEX handoff_scored ON supplier.handoff (supplier_id, ended_at);

            -- The newest version of each incident seen, so a late or repeated event is ignored.
            CREATE TABLE supplier.incident_seen (
                incident_id uuid PRIMARY KEY,
                updated_at timestamptz NOT NULL
            );

            CREATE TABLE supplier.review (
                id bigserial PRIMARY KEY,
                supplier_id uuid NOT NULL REFERENCES supplier.supplier (id),
                held_on date NOT NULL,
                attendees text[] NOT NULL DEFAULT '{}',
                findings text NOT NULL,
                recorded_by text NOT NULL,
                recorded_at timestamptz NOT NULL DEFAULT now()
            );

            CREATE TABLE supplier.dispute (
                id bigserial PRIMARY KEY,
                supplier_id uuid NOT NULL REFERENCES supplier.supplier (id),
                contract_id uuid REFERENCES supplier.contract (id),
                subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
                description text NOT NULL DEFAULT '',
                amount numeric(16, 2),
                currency text CHECK (currency ~ '^[A-Z]{3}$'),
                status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
                resolution text,
                raised_by text NOT NULL,
                raised_at timestamptz NOT NULL DEFAULT now(),
                resolved_at timestamptz
            );

            CREATE TABLE supplier.action (
                id bigserial PRIMARY KEY,
                supplier_id uuid NOT NULL REFERENCES supplier.supplier (id),
                review_id bigint REFERENCES supplier.review (id),
                dispute_id bigint REFERENCES supplier.dispute (id),
                description text NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
                owner text NOT NULL,
                due_on date NOT NULL,
                status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
                done_at timestamptz,
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX action_open ON supplier.action (due_on) WHERE status = 'open';
            """),
        // Versions of a record by the number of its event (commit order), not updated_at: two
        // changes can share a millisecond, or begin in the other order (ProblemSchema 2).
        Migration(version: 2, name: "hand-offs follow the order of events", sql: """
            ALTER TABLE supplier.incident_seen ADD COLUMN sequence bigint NOT NULL DEFAULT 0;
            """),
    ]
}
