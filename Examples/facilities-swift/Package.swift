// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "itsm-facilities",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "itsm-facilities", targets: ["itsm-facilities"]),
    ],
    dependencies: [
        .package(name: "itsm", path: "../.."),
    ],
    targets: [
        .target(
            name: "FacilitiesProcess",
            dependencies: [
                .product(name: "ITSMPluginKit", package: "itsm"),
                .product(name: "ITSMPostgres", package: "itsm"),
                .product(name: "ITSMProtocol", package: "itsm"),
            ]
        ),
        .executableTarget(name: "itsm-facilities", dependencies: ["FacilitiesProcess"]),
        .testTarget(
            name: "FacilitiesProcessTests",
            dependencies: [
                "FacilitiesProcess",
                .product(name: "ITSMTesting", package: "itsm"),
            ]
        ),
    ]
)
