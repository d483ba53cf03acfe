// swift-tools-version: 6.0
// Mnemo: a memory database for AI agents. The C core (csrc/, include/) is built as one C target;
// the Swift module `Mnemo` is the only one that imports it (see ../shared/STYLE.md).
import PackageDescription

let package = Package(
    name: "Mnemo",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Mnemo", targets: ["Mnemo"]),
        .library(name: "MnemoPlacement", targets: ["MnemoPlacement"]),
        .library(name: "MnemoCluster", targets: ["MnemoCluster"]),
        .executable(name: "mnemo", targets: ["MnemoCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.7.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
    ],
    targets: [
        .systemLibrary(name: "CURCU", path: "Sources/CURCU", pkgConfig: "liburcu-memb",
                       providers: [.apt(["liburcu-dev"])]),
        .systemLibrary(name: "CNUMA", path: "Sources/CNUMA", providers: [.apt(["libnuma-dev"])]),
        .systemLibrary(name: "CXXHash", path: "Sources/CXXHash", pkgConfig: "libxxhash",
                       providers: [.apt(["libxxhash-dev"])]),
        .target(
            name: "CMnemo",
            dependencies: ["CURCU", "CNUMA", "CXXHash"],
            path: ".",
            sources: ["csrc"],
            publicHeadersPath: "include",
            // No unsafeFlags: a package that has them cannot be a versioned dependency. Warnings
            // as errors and sanitizers live in CMake (`make c-test`); the optimisation comes from
            // the build configuration (`-c release`, or `-Xcc -O2` as the Makefile passes).
            cSettings: [.headerSearchPath("csrc")],
            linkerSettings: [
                // Module-map `link` lines apply only where Swift imports the module; the C core
                // needs them wherever it is linked.
                .linkedLibrary("urcu-cds"), .linkedLibrary("urcu-memb"), .linkedLibrary("urcu-common"),
                .linkedLibrary("numa"), .linkedLibrary("xxhash"),
            ]
        ),
        .target(name: "Mnemo", dependencies: ["CMnemo"]),
        .target(name: "MnemoPlacement"),
        // The cluster's control plane: an etcd v3 client over its JSON gateway, and membership,
        // leader election and the assignment table on top. Pure Swift, no C core.
        .target(
            name: "MnemoCluster",
            dependencies: [
                "MnemoPlacement",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `mnemo serve`: the engine behind HTTP/JSON (Hummingbird 2), with tokens, metrics and
        // graceful shutdown; it reaches the engine only through the Mnemo module.
        .target(
            name: "MnemoServer",
            dependencies: [
                "Mnemo", "MnemoCluster", "MnemoPlacement",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                // The search fast path is a channel handler over HTTPTypes parts (FastSearchHandler).
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                // Cluster mode forwards requests to the owning node over pooled connections.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            resources: [.copy("openapi.json")]
        ),
        .executableTarget(
            name: "MnemoCLI",
            dependencies: [
                "Mnemo", "MnemoPlacement", "MnemoServer", "MnemoCluster",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // The clients of a running server (`mnemo spaces|search|put|load|load-test`):
                // pooled keep-alive connections on SwiftNIO.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(name: "MnemoTests", dependencies: ["Mnemo"]),
        .testTarget(
            name: "MnemoServerTests",
            dependencies: [
                "MnemoServer", "Mnemo",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(name: "MnemoPlacementTests", dependencies: ["MnemoPlacement", "CXXHash"]),
        .testTarget(name: "MnemoClusterTests", dependencies: ["MnemoCluster"]),
        // Cluster nodes in process (real etcd, real loopback ports): routing, forwarding, drain.
        .testTarget(
            name: "MnemoNodeTests",
            dependencies: [
                "MnemoServer", "MnemoCluster", "MnemoPlacement", "Mnemo",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6],
    cLanguageStandard: .gnu11
)
