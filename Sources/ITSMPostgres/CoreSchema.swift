/// The `itsm` schema every process shares: the transactional outbox and its deliveries, the
/// subscribers' inbox, and API tokens. The coordinator migrates it before starting plugins.
///
/// A plugin in any language publishes an event by inserting into `itsm.outbox` in the
/// transaction that makes the change; a trigger fans the row out to one `itsm.delivery` row
/// per subscriber in that same transaction and wakes the relay with `NOTIFY itsm_outbox`.
public enum CoreSchema {
    public static let name = "itsm"
    /// The channel the outbox trigger notifies.
    public static let outboxChannel = "itsm_outbox"

    public static let migrations: [Migration] = [
        Migration(version: 1, name: "outbox, deliveries, inbox, tokens", sql: """
            CREATE SCHEMA itsm;

            CREATE TABLE itsm.outbox (
                id bigserial PRIMARY KEY,
                event_id uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
                type text NOT NULL,
                source text NOT NULL,
                subject text,
                payload jsonb NOT NULL DEFAULT '{}',
                occurred_at timestamptz NOT NULL DEFAULT now()
            );

            -- Which subscriber wants which event type; kept while a plugin is disabled, so
            -- its events wait for it instead of being lost.
            CREATE TABLE itsm.subscription (
                subscriber text NOT NULL,
                event_type text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (subscriber, event_type)
            );

            CREATE TABLE itsm.delivery (
                outbox_id bigint NOT NULL REFERENCES itsm.outbox (id) ON DELETE CASCADE,
                subscriber text NOT NULL,
                attempts integer NOT NULL DEFAULT 0,
                -- Not before this time: the lease of a claimed row, or a retry's backoff.
                next_attempt_at timestamptz NOT NULL DEFAULT now(),
                delivered_at timestamptz,
                last_error text,
                PRIMARY KEY (outbox_id, subscriber)
            );
            CREATE INDEX delivery_due ON itsm.delivery (subscriber, next_attempt_at, outbox_id)
                WHERE delivered_at IS NULL;

            CREATE FUNCTION itsm.fan_out_event() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO itsm.delivery (outbox_id, subscriber)
                SELECT NEW.id, s.subscriber FROM itsm.subscription s WHERE s.event_type = NEW.type;
                PERFORM pg_notify('itsm_outbox', NEW.type);
                RETURN NEW;
            END $$;
            CREATE TRIGGER outbox_fan_out AFTER INSERT ON itsm.outbox
                FOR EACH ROW EXECUTE FUNCTION itsm.fan_out_event();

            -- Events a subscriber has processed, so a redelivery has no second effect.
            CREATE TABLE itsm.inbox (
                subscriber text NOT NULL,
                event_id uuid NOT NULL,
                processed_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (subscriber, event_id)
            );

            -- Bearer tokens, stored as SHA-256 hashes only.
            CREATE TABLE itsm.api_token (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                name text NOT NULL UNIQUE,
                token_hash text NOT NULL UNIQUE,
                permissions text[] NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                last_used_at timestamptz,
                revoked_at timestamptz
            );
            """),
        Migration(version: 2, name: "one bootstrap admin token per installation", sql: """
            -- Several coordinators can share a database, each with its own data directory and
            -- admin token; a lost token file must rotate only that installation's token.
            ALTER TABLE itsm.api_token ADD COLUMN installation text;
            ALTER TABLE itsm.api_token DROP CONSTRAINT api_token_name_key;
            CREATE UNIQUE INDEX api_token_name_per_installation ON itsm.api_token (name, coalesce(installation, ''));
            """),
        Migration(version: 3, name: "job leases", sql: """
            -- Scheduled work (SLA scans, contract milestones, forecasts) runs on one plugin
            -- instance at a time. The holder renews its lease each run; another instance takes
            -- over once it expires. The fence grows with every change of hands, and a job's
            -- writes check it in their own transaction, so an instance that was paused past its
            -- lease cannot act on it.
            CREATE TABLE itsm.job_lease (
                job text PRIMARY KEY,
                holder text NOT NULL,
                fence bigint NOT NULL,
                expires_at timestamptz NOT NULL
            );
            """),
        Migration(version: 4, name: "who issued each token", sql: """
            -- A name belongs to whoever issued it: only they or an administrator revoke it or use it
            -- again. NULL: the installation's own (the bootstrap admin, provisioned host tokens).
            ALTER TABLE itsm.api_token ADD COLUMN issued_by text;
            """),
        Migration(version: 5, name: "the active version of each process", sql: """
            -- Instances of a process may run different versions during a rolling upgrade; only the
            -- active one gets requests and events, and its subscriptions are the recorded ones.
            -- The first instance ever to connect makes its version active; after that only an
            -- explicit upgrade (itsm plugins upgrade) changes it.
            CREATE TABLE itsm.process_version (
                process text PRIMARY KEY,
                version text NOT NULL,
                activated_at timestamptz NOT NULL DEFAULT now(),
                activated_by text NOT NULL,
                previous_version text
            );
            """),
    ]
}
