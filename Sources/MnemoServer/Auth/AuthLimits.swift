// Every bound the authentication code enforces, in one place with its reason (STYLE.md rule 4).

/// Limits on credentials and tokens.
public enum AuthLimits {
    /// Shortest admin key accepted, in bytes: 16 random bytes is 128 bits, out of guessing range.
    public static let adminKeyBytesMin = 16
    /// Shortest HS256 secret accepted, in bytes: RFC 7518 §3.2 asks for at least the hash size.
    public static let hmacSecretBytesMin = 32
    /// Longest credential read from an `Authorization` header, in bytes. Bounds the work an
    /// unauthenticated caller can make the server do (base64 and JSON decoding) per request.
    public static let credentialBytesMax = 8 * 1024
    /// Longest lifetime of an issued token: 30 days. Tokens cannot be revoked one by one (only by
    /// retiring their signing key), so their life is kept short.
    public static let tokenTTLSecondsMax = 30 * 24 * 3600
    /// Lifetime of a token whose request names none: one hour.
    public static let tokenTTLSecondsDefault = 3600
    /// Longest token subject, in bytes: a label for logs, not data.
    public static let subjectBytesMax = 256
    /// Longest space name or prefix in a token, in bytes: the engine's own limit
    /// (`MN_ENGINE_NAME_BYTES_MAX` in include/mnemo/mn_limits.h).
    public static let spaceNameBytesMax = 128
    /// Longest key id, in bytes: it travels in every token header.
    public static let keyIDBytesMax = 64
    /// Most keys in a key set: rotation needs a handful, not hundreds.
    public static let keySetKeysMax = 32
    /// Largest key-set file read, in bytes.
    public static let keySetFileBytesMax = 64 * 1024
}
