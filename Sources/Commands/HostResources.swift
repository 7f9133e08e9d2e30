import Inventory

/// A host's CPU count and memory, as its preflight (and `status`) read them, checked against the
/// inventory's declared `size`.
public struct HostResources: Sendable, Equatable {
    public var cpus: Int?
    public var memoryBytes: UInt64?

    /// Memory the kernel reports is a little less than what is installed (it keeps some for itself): a host
    /// counts as below its size only under this share of the declared memory.
    package static let memoryTolerance = 0.9

    /// The line `HostCommands.resourcesLine` prints: `cpus=4 memory_kib=8048212`.
    public static func parse(_ output: String) -> HostResources? {
        guard let line = output.split(whereSeparator: \.isNewline).last(where: { $0.hasPrefix("cpus=") }) else { return nil }
        var resources = HostResources()
        for field in line.split(separator: " ") {
            let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "cpus": resources.cpus = Int(parts[1])
            case "memory_kib": resources.memoryBytes = UInt64(parts[1]).map { $0 * 1024 }
            default: break
            }
        }
        return resources
    }

    /// Why the host is smaller than `size` declares; nil when it is not (or nothing is declared or known).
    public func shortfall(against size: ResourceSize?) -> String? {
        guard let size else { return nil }
        var problems: [String] = []
        if let declared = size.vcpu, let cpus, cpus < declared {
            problems.append("\(cpus) CPU\(cpus == 1 ? "" : "s") where the inventory declares \(declared)")
        }
        if let declared = size.memoryBytes, let memoryBytes, Double(memoryBytes) < Double(declared) * Self.memoryTolerance {
            problems.append("\(memoryBytes >> 20) MiB of memory where the inventory declares \(size.memoryText ?? "\(declared >> 20) MiB")")
        }
        return problems.isEmpty ? nil : "below its declared size: " + problems.joined(separator: ", ")
    }
}
