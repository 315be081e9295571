import Foundation

extension Double {
    /// The figure as reports and pages show it: a whole number without decimals (`12`),
    /// anything else with `fractionDigits` (`12.50`). Numbers beyond what an `Int` holds, or not
    /// finite, keep the decimal form: converting them to `Int` would trap.
    public func figure(fractionDigits: Int) -> String {
        self == rounded() && abs(self) < 1e15 ? String(Int(self)) : String(format: "%.\(fractionDigits)f", self)
    }
}
