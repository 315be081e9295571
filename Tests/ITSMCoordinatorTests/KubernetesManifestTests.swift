import Foundation
import ITSMSystem
import Testing
import Yams

/// deploy/kubernetes as `kubectl apply -k` would apply it, rendered by kubectl's own kustomize:
/// one image entry names the image everywhere, every pod runs unprivileged with a group that
/// can read the 0440 secrets, and every container has a probe that works without a port of its own.
struct KubernetesManifestTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy/kubernetes").path

    /// The rendered objects; the test is skipped, saying why, where kubectl is not installed.
    static func rendered() async throws -> [[String: Any]] {
        guard let kubectl = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
            try Test.cancel("skipped: kubectl is not installed")
        }
        let output = try await Command.run(kubectl, ["kustomize", directory])
        try #require(output.status == .exited(0), "\(output.text)")
        return try Yams.load_all(yaml: output.text).compactMap { $0 as? [String: Any] }
    }

    @Test func everyWorkloadRunsTheConfiguredImageUnprivilegedAndProbed() async throws {
        let workloads = try await Self.rendered().filter { ["Deployment", "StatefulSet"].contains($0["kind"] as? String) }
        #expect(workloads.count == 3)
        for workload in workloads {
            let name = (workload["metadata"] as? [String: Any])?["name"] as? String ?? "?"
            let pod = ((workload["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any] ?? [:]
            let security = pod["securityContext"] as? [String: Any] ?? [:]
            #expect(security["runAsNonRoot"] as? Bool == true && security["fsGroup"] as? Int == 999, "\(name)")
            let volumes = pod["volumes"] as? [[String: Any]] ?? []
            for volume in volumes {
                if let secret = volume["secret"] as? [String: Any] {
                    #expect(secret["defaultMode"] as? Int == 0o440, "\(name): a secret the pod's group cannot read")
                }
            }
            for container in pod["containers"] as? [[String: Any]] ?? [] {
                #expect(container["image"] as? String == "registry.example.com/itsm:0.1.0", "\(name): \(container["image"] ?? "no image")")
                #expect(container["livenessProbe"] != nil, "\(name): no liveness probe")
                let arguments = container["args"] as? [String] ?? []
                guard arguments.first == "agent" else { continue }
                // An agent's probe reads the status file the agent is told to write, on a volume it can write.
                let probe = ((container["livenessProbe"] as? [String: Any])?["exec"] as? [String: Any])?["command"] as? [String] ?? []
                let statusFile = try #require(arguments.firstIndex(of: "--status-file").map { arguments[$0 + 1] }, "\(name): no --status-file")
                #expect(probe.contains("--probe") && probe.last == statusFile, "\(name): \(probe)")
                let mounts = (container["volumeMounts"] as? [[String: Any]] ?? []).compactMap { $0["mountPath"] as? String }
                #expect(mounts.contains { statusFile.hasPrefix($0 + "/") }, "\(name): \(statusFile) is on no volume")
            }
        }
    }
}
