// swift-tools-version:6.2
import PackageDescription

/// Settings every target of ours shares: Swift 6 language mode (strict concurrency) and
/// explicit `any` for existentials.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "itsm",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "itsm", targets: ["itsm"]),
        .executable(name: "itsm-incident", targets: ["itsm-incident"]),
        .executable(name: "itsm-problem", targets: ["itsm-problem"]),
        .executable(name: "itsm-supplier", targets: ["itsm-supplier"]),
        .executable(name: "itsm-improvement", targets: ["itsm-improvement"]),
        .executable(name: "itsm-capacity", targets: ["itsm-capacity"]),
        .executable(name: "itsm-notification", targets: ["itsm-notification"]),
        .executable(name: "itsm-service", targets: ["itsm-service"]),
        .library(name: "ITSMProtocol", targets: ["ITSMProtocol"]),
        .library(name: "ITSMPostgres", targets: ["ITSMPostgres"]),
        .library(name: "ITSMPluginKit", targets: ["ITSMPluginKit"]),
        .library(name: "ITSMCalendar", targets: ["ITSMCalendar"]),
        .library(name: "ITSMTesting", targets: ["ITSMTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.5.0", traits: []),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.20.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.0"),
    ],
    targets: [
        // MARK: Database

        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // Argon2id password hashing for people's accounts.
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        // Directory sign-in (LDAP, Active Directory) through OpenLDAP's client library.
        .systemLibrary(
            name: "CLDAP",
            pkgConfig: "ldap",
            providers: [.apt(["libldap-dev"])]
        ),
        // Deflate and CRC-32 for the zip archives evidence packs are served as.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(name: "CITSMSystem"),
        .target(name: "ITSMSystem", dependencies: ["CITSMSystem"], swiftSettings: swiftSettings),
        .target(
            name: "ITSMPostgres",
            dependencies: [
                "CLibPQ",
                "ITSMSystem",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Protocol and transport

        .target(name: "ITSMProtocol", dependencies: ["ITSMSystem"], swiftSettings: swiftSettings),
        .target(
            name: "ITSMTransport",
            dependencies: [
                "ITSMProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Plugin side and coordinator side

        .target(
            name: "ITSMPluginKit",
            dependencies: [
                "ITSMProtocol",
                "ITSMSystem",
                "ITSMTransport",
                "ITSMPostgres",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ITSMCoordinator",
            dependencies: [
                "ITSMProtocol",
                "ITSMSystem",
                "ITSMTransport",
                "ITSMPostgres",
                "CSodium",
                "CLDAP",
                "CZlib",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ITSMTesting",
            dependencies: [
                "ITSMPostgres",
                "ITSMSystem",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The real binaries as a test runs them (coordinator, agent, load over HTTP): kept apart
        // from ITSMTesting, so a scaffolded plugin's tests need no HTTP client stack.
        .target(
            name: "ITSMEndToEndTesting",
            dependencies: [
                "ITSMSystem",
                "ITSMTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Executables

        .executableTarget(
            name: "itsm",
            dependencies: [
                // Not imported: listed so `swift run itsm` also builds the built-in plugins,
                // which the coordinator starts from the same directory.
                "itsm-incident",
                "itsm-problem",
                "itsm-supplier",
                "itsm-improvement",
                "itsm-capacity",
                "itsm-notification",
                "itsm-service",
                "CapacityProcess",
                "CapacityProtocol",
                "IncidentProcess",
                "ImprovementProtocol",
                "IncidentProtocol",
                "ProblemProcess",
                "ProblemProtocol",
                "SupplierProtocol",
                "ITSMPluginKit",
                "ITSMCoordinator",
                "ITSMPostgres",
                "ITSMProtocol",
                "ITSMSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "ITSMCalendar", dependencies: ["ITSMProtocol"], swiftSettings: swiftSettings),
        // A process's contract (its records, method params and results, event payloads) is a
        // target of its own: the processes that call it or read its events import the contract,
        // never the implementation.
        .target(
            name: "IncidentProtocol",
            dependencies: ["ITSMCalendar", "ITSMProtocol"],
            path: "Plugins/Incident/IncidentProtocol",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "IncidentProcess",
            dependencies: ["IncidentProtocol", "ProblemProtocol", "ServiceProtocol", "ITSMCalendar", "ITSMPluginKit", "ITSMPostgres", "ITSMProtocol", "ITSMSystem"],
            path: "Plugins/Incident/IncidentProcess",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "itsm-incident",
            dependencies: ["IncidentProcess"],
            path: "Plugins/Incident/Main",
            swiftSettings: swiftSettings
        ),

        .target(name: "ProblemProtocol", dependencies: ["ITSMProtocol"], path: "Plugins/Problem/ProblemProtocol", swiftSettings: swiftSettings),
        .target(
            name: "ProblemProcess",
            dependencies: ["ProblemProtocol", "IncidentProtocol", "ITSMPluginKit", "ITSMPostgres", "ITSMProtocol"],
            path: "Plugins/Problem/ProblemProcess",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "itsm-problem",
            dependencies: ["ProblemProcess"],
            path: "Plugins/Problem/Main",
            swiftSettings: swiftSettings
        ),

        .target(name: "SupplierProtocol", dependencies: ["ITSMCalendar", "ITSMProtocol"], path: "Plugins/Supplier/SupplierProtocol",
                swiftSettings: swiftSettings),
        .target(
            name: "SupplierProcess",
            dependencies: ["SupplierProtocol", "IncidentProtocol", "ITSMCalendar", "ITSMPluginKit", "ITSMPostgres", "ITSMProtocol"],
            path: "Plugins/Supplier/SupplierProcess",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "itsm-supplier",
            dependencies: ["SupplierProcess"],
            path: "Plugins/Supplier/Main",
            swiftSettings: swiftSettings
        ),

        .target(
            name: "ServiceProtocol", dependencies: ["ITSMCalendar", "ITSMProtocol"], path: "Plugins/Service/ServiceProtocol",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ServiceProcess",
            dependencies: ["ServiceProtocol", "IncidentProtocol", "ITSMCalendar", "ITSMPluginKit", "ITSMPostgres", "ITSMProtocol"],
            path: "Plugins/Service/ServiceProcess",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "itsm-service",
            dependencies: ["ServiceProcess"],
            path: "Plugins/Service/Main",
            swiftSettings: swiftSettings
        ),

        .target(name: "NotificationProtocol", dependencies: ["ITSMProtocol"], path: "Plugins/Notification/NotificationProtocol", swiftSettings: swiftSettings),
        .target(
            name: "NotificationProcess",
            dependencies: [
                "NotificationProtocol", "CapacityProtocol", "ImprovementProtocol", "IncidentProtocol", "ProblemProtocol", "ServiceProtocol", "SupplierProtocol",
                "ITSMPluginKit", "ITSMPostgres", "ITSMProtocol", "ITSMSystem",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Plugins/Notification/NotificationProcess",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "itsm-notification",
            dependencies: ["NotificationProcess"],
            path: "Plugins/Notification/Main",
            swiftSettings: swiftSettings
        ),

        .target(name: "ImprovementProtocol", dependencies: ["ITSMProtocol"], path: "Plugins/Improvement/ImprovementProtocol",
                swiftSettings: swiftSettings),
        .target(
            name: "ImprovementProcess",
            dependencies: ["ImprovementProtocol", "CapacityProtocol", "IncidentProtocol", "ProblemProtocol", "SupplierProtocol", "ITSMPluginKit", "ITSMPostgres", "ITSMProtocol"],
            path: "Plugins/Improvement/ImprovementProcess",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "itsm-improvement",
            dependencies: ["ImprovementProcess"],
            path: "Plugins/Improvement/Main",
            swiftSettings: swiftSettings
        ),

        .target(name: "CapacityProtocol", dependencies: ["ITSMProtocol"], path: "Plugins/Capacity/CapacityProtocol", swiftSettings: swiftSettings),
        .target(
            name: "CapacityProcess",
            dependencies: [
                "CapacityProtocol", "IncidentProtocol", "ITSMPluginKit", "ITSMPostgres", "ITSMProtocol",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Plugins/Capacity/CapacityProcess",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "itsm-capacity",
            dependencies: ["CapacityProcess"],
            path: "Plugins/Capacity/Main",
            swiftSettings: swiftSettings
        ),

        // MARK: Tests

        .testTarget(
            name: "ITSMProtocolTests",
            dependencies: ["ITSMProtocol", "ITSMSystem"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ITSMSystemTests",
            dependencies: ["ITSMSystem"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ITSMTransportTests",
            dependencies: ["ITSMTransport", "ITSMProtocol", "ITSMSystem"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ITSMPostgresTests",
            dependencies: ["ITSMPostgres", "ITSMTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ITSMCoordinatorTests",
            dependencies: [
                "ITSMCoordinator", "ITSMTesting", "ITSMPostgres", "ITSMProtocol", "ITSMTransport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ITSMPluginKitTests",
            dependencies: ["ITSMPluginKit", "ITSMTesting", "ITSMPostgres"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IncidentProcessTests",
            dependencies: ["IncidentProcess", "ProblemProtocol", "ServiceProtocol", "ITSMCalendar", "ITSMPluginKit", "ITSMTesting", "ITSMPostgres", "ITSMProtocol"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProblemProcessTests",
            dependencies: ["ProblemProcess", "IncidentProtocol", "ITSMPluginKit", "ITSMTesting", "ITSMPostgres", "ITSMProtocol"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SupplierProcessTests",
            dependencies: ["SupplierProcess", "SupplierProtocol", "IncidentProtocol", "ITSMCalendar", "ITSMPluginKit", "ITSMTesting", "ITSMPostgres", "ITSMProtocol"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ServiceProcessTests",
            dependencies: ["ServiceProcess", "ITSMCalendar", "ITSMPluginKit", "ITSMTesting", "ITSMPostgres", "ITSMProtocol"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NotificationProcessTests",
            dependencies: ["NotificationProcess", "ITSMPluginKit", "ITSMTesting", "ITSMPostgres", "ITSMProtocol"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ImprovementProcessTests",
            dependencies: ["ImprovementProcess", "ImprovementProtocol", "CapacityProtocol", "IncidentProtocol", "ProblemProtocol", "SupplierProtocol", "ITSMPluginKit", "ITSMTesting", "ITSMPostgres", "ITSMProtocol"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CapacityProcessTests",
            dependencies: ["CapacityProcess", "IncidentProtocol", "ITSMPluginKit", "ITSMTesting", "ITSMPostgres", "ITSMProtocol", "ITSMSystem"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["ITSMEndToEndTesting", "ITSMTesting", "ITSMProtocol", "ITSMPostgres", "ITSMSystem"],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
    ]
)
