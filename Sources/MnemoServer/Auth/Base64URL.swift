// Base64url without padding (RFC 4648 §5), the alphabet of JWT segments and JWK key fields. Keys in
// key-set files and the JWT header are decoded here so that malformed input becomes a typed error
// rather than a jwt-kit failure deep inside verification.

import Foundation

/// Base64url encoding and decoding, padding optional on input.
enum Base64URL {
    /// Encodes `bytes` as unpadded base64url.
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Decodes base64url (padded or not); nil when `text` is not base64url.
    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var standard = String(text)
        guard !standard.contains("+"), !standard.contains("/") else { return nil }
        standard = standard.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        if !standard.contains("=") {
            switch standard.utf8.count % 4 {
            case 0: break
            case 2: standard += "=="
            case 3: standard += "="
            default: return nil
            }
        }
        return Data(base64Encoded: standard).map { [UInt8]($0) }
    }

    /// Decodes base64url given as ASCII bytes (a JWT segment); nil when not base64url.
    static func decode(_ ascii: ArraySlice<UInt8>) -> [UInt8]? {
        decode(String(decoding: ascii, as: UTF8.self))
    }
}
