// OpenAPIDocument: the committed OpenAPI 3.1 contract (Sources/MnemoServer/openapi.json, a
// bundle resource), loaded once and served as-is at /openapi.json.
import Foundation

/// The server's OpenAPI document.
public enum OpenAPIDocument {
    /// The document's bytes (empty if the resource is missing from the bundle).
    public static let bytes: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"),
              let data = try? Data(contentsOf: url) else { return [] }
        return [UInt8](data)
    }()
}
