// HealthRoutes: liveness (`/healthz`: the process answers), readiness (`/readyz`: the database
// has finished recovery and is serving) and the OpenAPI document. None needs a credential.
import Foundation
import Hummingbird

/// `GET /healthz`, `GET /readyz`, `GET /openapi.json`.
struct HealthRoutes: Sendable {
    let state: ServerState

    struct Health: Encodable {
        var status: String
    }

    func register(on router: Router<ServerContext>) {
        router.get("healthz") { _, _ in JSONResponse.make(status: .ok, Health(status: "ok")) }
        router.get("readyz") { _, _ -> Response in
            switch state.current {
            case .ready: return JSONResponse.make(status: .ok, Health(status: "ready"))
            case .recovering: throw ServerError.notReady("recovering")
            case .failed(let message): throw ServerError.notReady("the database failed to open: \(message)")
            case .closing: throw ServerError.notReady("shutting down")
            }
        }
        router.get("openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.bytes)))
        }
    }
}
