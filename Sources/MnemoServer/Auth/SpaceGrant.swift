// Which spaces a token covers: one space by its exact name, or every space whose name starts with
// a prefix ending in "/" (a tenant's namespace, e.g. `tenant-7/`). Names are compared as UTF-8
// bytes, not as Swift strings: String equality is Unicode canonical equivalence, under which two
// different byte names (NFC and NFD "café") are equal, while the engine keeps them apart. Requiring
// the trailing "/" on prefixes keeps `tenant-7/` from covering `tenant-70/x`.

/// The spaces a token may touch.
public enum SpaceGrant: Sendable, Hashable {
    /// Exactly the space with this name (`a` covers `a`, not `a/b`).
    case space(String)
    /// Every space whose name starts with this prefix, which ends with "/" (`tenant-7/` covers
    /// `tenant-7/a` and `tenant-7/a/b`, not `tenant-70/x` nor `tenant-7` itself).
    case prefix(String)

    /// Whether the grant covers the space named `name` (byte-wise comparison).
    public func covers(space name: String) -> Bool {
        switch self {
        case .space(let granted):
            return name.utf8.elementsEqual(granted.utf8)
        case .prefix(let prefix):
            return name.utf8.starts(with: prefix.utf8)
        }
    }

    /// Whether every space `other` covers is also covered by this grant: the test a token must
    /// pass to issue a narrower one.
    public func covers(_ other: SpaceGrant) -> Bool {
        switch (self, other) {
        case (.space, .space(let name)):
            return covers(space: name)
        case (.space, .prefix):
            return false
        case (.prefix(let prefix), .space(let name)):
            return name.utf8.starts(with: prefix.utf8)
        case (.prefix(let prefix), .prefix(let narrower)):
            return narrower.utf8.starts(with: prefix.utf8)
        }
    }

    /// Checks the grant's shape: a non-empty name within ``AuthLimits/spaceNameBytesMax``; a
    /// prefix that ends with "/" and has something before it.
    /// - Throws: ``AuthError`` 400 `invalidArgument` naming the field (`space` or `prefix`).
    public func validate() throws(AuthError) {
        switch self {
        case .space(let name):
            guard !name.isEmpty, name.utf8.count <= AuthLimits.spaceNameBytesMax else {
                throw AuthError.invalidArgument(
                    "space must be 1 to \(AuthLimits.spaceNameBytesMax) bytes", field: "space")
            }
        case .prefix(let prefix):
            guard prefix.utf8.count >= 2, prefix.utf8.count <= AuthLimits.spaceNameBytesMax,
                  prefix.utf8.last == UInt8(ascii: "/"), prefix.utf8.first != UInt8(ascii: "/")
            else {
                throw AuthError.invalidArgument(
                    "prefix must end with \"/\", have a name before it and be at most "
                        + "\(AuthLimits.spaceNameBytesMax) bytes", field: "prefix")
            }
        }
    }
}

extension SpaceGrant: CustomStringConvertible {
    /// `space a` or `prefix tenant-7/`, for messages and logs.
    public var description: String {
        switch self {
        case .space(let name): "space \(name)"
        case .prefix(let prefix): "prefix \(prefix)"
        }
    }
}
