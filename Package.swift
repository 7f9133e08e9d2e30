// swift-tools-version:6.0
import PackageDescription

let package = Package(
    // Linux only: the SSH layer uses Glibc's poll/socket options and the tests run real sshd and podman.
    name: "openclaw-deploy",
    products: [
        .executable(name: "openclaw-deploy", targets: ["openclaw-deploy"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibSSH2",
            pkgConfig: "libssh2",
            providers: [.apt(["libssh2-1-dev"])]
        ),
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "ShellWords"),
        .target(name: "ExitCategories"),
        .target(name: "SSH", dependencies: ["CLibSSH2", "CCrypto", "ShellWords"]),
        .target(name: "Inventory", dependencies: ["ExitCategories", .product(name: "Yams", package: "Yams")]),
        .target(name: "Commands", dependencies: ["Inventory", "ShellWords"]),
        .target(name: "Plan", dependencies: ["Commands", "Inventory", "CCrypto", "ShellWords"]),
        .target(name: "Engine", dependencies: ["Plan", "Commands", "ExitCategories", "Inventory", "CCrypto", "ShellWords"]),
        .target(name: "Fleet", dependencies: ["Engine", "Plan", "Commands", "ExitCategories", "Inventory"]),
        .target(name: "Gateway", dependencies: ["Plan", "Commands", "ExitCategories", "Inventory", "Engine", .product(name: "Mustache", package: "swift-mustache")]),
        .target(
            name: "DeployCLI",
            dependencies: [
                "SSH", "Plan", "Commands", "ExitCategories", "Inventory", "Engine", "Fleet", "Gateway", "ShellWords",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "openclaw-deploy", dependencies: ["DeployCLI"]),
        .executableTarget(name: "ssh-bench", dependencies: ["SSH", "TestSupport"]),
        .target(name: "TestSupport", dependencies: ["Plan", "Commands", "Engine"]),
        .testTarget(name: "InventoryTests", dependencies: ["Inventory"], resources: [.copy("Fixtures")]),
        .testTarget(name: "RolloutTests", dependencies: ["Plan", "Commands", "Engine", "Fleet", "Inventory", "TestSupport", "ShellWords"]),
        .testTarget(name: "SSHTests", dependencies: ["SSH", "TestSupport", "DeployCLI", "Plan", "Commands", "Inventory", "Engine", "Fleet"]),
        .testTarget(name: "GatewayTests", dependencies: ["Plan", "Commands", "Gateway", "Inventory", "TestSupport", "ShellWords"], exclude: ["Golden"]),
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport"], exclude: ["Snapshots"]),
    ]
)
