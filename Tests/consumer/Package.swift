// swift-tools-version: 6.0
// A package that uses Mnemo the way an application does: as a dependency BY VERSION. It proves
// the Mnemo package carries no unsafe build flags (SwiftPM refuses those in versioned
// dependencies) and that its public API is enough to open a database and search it.
// scripts/consumer-test.sh clones the repository's HEAD into a temporary directory, tags it
// 1.0.0 and sets MNEMO_PACKAGE_URL to that clone before building this package.
import PackageDescription

let mnemoURL = Context.environment["MNEMO_PACKAGE_URL"] ?? "https://github.com/mnemo/mnemo.git"

let package = Package(
    name: "MnemoConsumer",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: mnemoURL, from: "1.0.0"),
    ],
    targets: [
        .executableTarget(
            name: "MnemoConsumer",
            dependencies: [.product(name: "Mnemo", package: "mnemo")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
