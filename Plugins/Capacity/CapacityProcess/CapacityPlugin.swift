import ITSMPluginKit

public enum CapacityPlugin {
    public static func make() -> Plugin { Plugin(name: "capacity", version: "0.1.0") }
}
