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
        .executable(name: "mnemo", targets: ["MnemoCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
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
        .executableTarget(
            name: "MnemoCLI",
            dependencies: [
                "Mnemo", "MnemoPlacement",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "MnemoTests", dependencies: ["Mnemo"]),
        .testTarget(name: "MnemoPlacementTests", dependencies: ["MnemoPlacement", "CXXHash"]),
    ],
    swiftLanguageModes: [.v6],
    cLanguageStandard: .gnu11
)
