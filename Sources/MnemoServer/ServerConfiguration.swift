// ServerConfiguration: everything `mnemo serve` is told on its command line or in its
// environment, gathered in one value the server and its tests build directly.
import Foundation
import Mnemo

/// How a ``MnemoHTTPServer`` runs: where it listens, where its data lives, its limits and
/// its credentials.
///
/// ```swift
/// var configuration = ServerConfiguration()
/// configuration.dataPath = "/var/lib/mnemo"
/// configuration.port = 7600
/// ```
public struct ServerConfiguration: Sendable {
    /// The address to bind (default loopback).
    public var host: String = "127.0.0.1"
    /// The TCP port (0: any free port, reported once bound).
    public var port: Int = 7600
    /// The data directory; `nil` runs an in-memory database (nothing survives a restart).
    public var dataPath: String?
    /// The admin key, when auth is on. Every request may present it as a bearer credential.
    public var adminKey: String?
    /// The token key set file (docs/server.md, "Keys and rotation"); `nil` signs tokens with a
    /// random key generated at start (they die with the process).
    public var tokenKeysPath: String?
    /// Development mode: no authentication, loopback only.
    public var dev: Bool = false
    /// PEM certificate chain file for TLS (with ``tlsKeyPath``); `nil` serves plain HTTP.
    public var tlsCertificatePath: String?
    /// PEM private key file for TLS.
    public var tlsKeyPath: String?
    /// The largest JSON request body, in bytes (checked before the body is read whole).
    public var maxBodyBytes: Int = 64 << 20
    /// The largest import stream (`PUT /v1/spaces/{space}/import`), in bytes (at most 4 GiB − 1:
    /// the body is collected into one NIO ByteBuffer, whose size is 32-bit).
    public var maxImportBytes: Int = 2 << 30
    /// Options of the database the server opens. `waitWhenFull` is forced off: a full
    /// mailbox is answered 429 with `Retry-After` rather than holding the request.
    public var databaseOptions: DatabaseOptions = DatabaseOptions()
    /// Whether a search request may be answered on the event loop that read it, inside the
    /// channel pipeline, when it can be (FastSearch: the common successful search); off, every
    /// search goes through Hummingbird's router. The answers are the same either way.
    public var searchOnEventLoop: Bool = true
    /// Cluster mode (docs/cluster.md, "Nodes and routing"); nil: a single node.
    public var cluster: ClusterConfiguration?

    /// Creates the default configuration (loopback:7600, in memory, auth on, 64 MiB bodies).
    public init() {}

    /// Whether ``host`` is a loopback address.
    public var bindsLoopback: Bool {
        host == "127.0.0.1" || host == "::1" || host == "localhost" || host.hasPrefix("127.")
    }
}
