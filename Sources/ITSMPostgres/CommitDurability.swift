/// Whether one statement's commit waits for the disk, chosen in the statement itself.
///
/// `WITH <cte> <statement> … FROM durability` sets `synchronous_commit` for the statement's own
/// transaction only (the CTE runs because the statement names it). For writes whose loss in a
/// crash is harmless because something durable makes them again: the audit outcome of an
/// intent, a delivery already recorded in the subscriber's inbox.
public enum CommitDurability {
    public static func cte(waitsForDisk: Bool) -> String {
        "durability AS (SELECT set_config('synchronous_commit', '\(waitsForDisk ? "on" : "off")', true))"
    }
}
