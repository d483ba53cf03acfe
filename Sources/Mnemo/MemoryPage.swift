/// One page of ``Space/list(filter:cursor:limit:)``: matching memories in a stable order (the
/// order they were first inserted; an upsert or metadata patch keeps a memory's place) and the
/// cursor of the next page, `nil` once the last matching memory has been listed.
///
/// ```swift
/// var cursor: MemoryPage.Cursor? = nil
/// repeat {
///     let page = try await space.list(filter: Filter.field("kind") == "fact", cursor: cursor, limit: 100)
///     for memory in page.memories { print(memory.id) }
///     cursor = page.nextCursor
/// } while cursor != nil
/// ```
public struct MemoryPage: Sendable, Hashable {
    /// Where a listing resumes: after the last memory of the page it came from. Memories
    /// inserted after a page was read appear on later pages, deleted ones vanish, and none is
    /// listed twice. Its text form (``description``, ``init(_:)``) lets a server hand it out.
    ///
    /// ```swift
    /// let token = page.nextCursor?.description          // "1234"
    /// let resumed = token.flatMap(MemoryPage.Cursor.init)
    /// ```
    public struct Cursor: Sendable, Hashable, LosslessStringConvertible {
        /// The position: memories of the space's internal order after it are listed next.
        public let position: UInt64

        /// A cursor at `position` (0: the start).
        ///
        /// ```swift
        /// let start = MemoryPage.Cursor(position: 0)
        /// ```
        public init(position: UInt64) { self.position = position }

        /// Parses the decimal text of ``description``; `nil` for anything else.
        ///
        /// ```swift
        /// let cursor = MemoryPage.Cursor("1234")
        /// ```
        public init?(_ description: String) {
            guard let position = UInt64(description) else { return nil }
            self.position = position
        }

        /// The position in decimal.
        public var description: String { String(position) }
    }

    /// The memories of this page (at most the limit asked for), each with its vector, content,
    /// creation time and metadata.
    public let memories: [Memory]
    /// The cursor of the next page, or `nil` when no matching memory follows this page.
    public let nextCursor: Cursor?

    /// Creates a page (pages come from ``Space/list(filter:cursor:limit:)``; this is for tests
    /// and mocks).
    ///
    /// ```swift
    /// let last = MemoryPage(memories: [], nextCursor: nil)
    /// ```
    public init(memories: [Memory], nextCursor: Cursor?) {
        self.memories = memories
        self.nextCursor = nextCursor
    }
}
