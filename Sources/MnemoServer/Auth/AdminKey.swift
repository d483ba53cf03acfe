// The admin key: a shared secret that can do everything, read from a file or the environment at
// start. It is compared in constant time (the loop runs over the presented credential's length and
// never exits early), so response timing does not reveal how many leading bytes were right.

import Foundation

/// The secret that authenticates the database's administrator.
public struct AdminKey: Sendable {
    /// The environment variable ``load(file:environment:)`` reads when no file is given.
    public static let environmentVariable = "MNEMO_ADMIN_KEY"

    private let bytes: [UInt8]

    /// Creates a key from its text, ignoring surrounding whitespace and newlines (a key file
    /// usually ends with one).
    /// - Throws: ``AuthError`` `invalidConfiguration` when shorter than
    ///   ``AuthLimits/adminKeyBytesMin`` bytes.
    public init(_ key: String) throws(AuthError) {
        let trimmed = key.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.utf8.count >= AuthLimits.adminKeyBytesMin else {
            throw AuthError.invalidConfiguration(
                "the admin key must be at least \(AuthLimits.adminKeyBytesMin) bytes")
        }
        bytes = Array(trimmed.utf8)
    }

    /// Loads the admin key from `file` when given, else from ``environmentVariable``.
    /// - Returns: nil when neither is set.
    /// - Throws: ``AuthError`` `invalidConfiguration` when the file cannot be read or the key is
    ///   too short.
    public static func load(
        file: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(AuthError) -> AdminKey? {
        if let file {
            guard let data = FileManager.default.contents(atPath: file),
                  let text = String(data: data, encoding: .utf8)
            else {
                throw AuthError.invalidConfiguration("cannot read the admin key file \(file)")
            }
            return try AdminKey(text)
        }
        if let text = environment[environmentVariable] {
            return try AdminKey(text)
        }
        return nil
    }

    /// A new random key: 32 bytes from the system's generator, base64url (43 characters).
    public static func generateText() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// Whether `credential` is this key, in time that depends only on the credential's length.
    public func matches(_ credential: some StringProtocol) -> Bool {
        let presented = Array(credential.utf8)
        var difference = UInt8(0)
        for index in presented.indices {
            difference |= presented[index] ^ bytes[index % bytes.count]
        }
        return difference == 0 && presented.count == bytes.count
    }
}
