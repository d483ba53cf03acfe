import Foundation

/// A Swift value a ``Filter`` condition can compare a field with: `String`, `Int`, `Int64`,
/// `Double`, `Bool`, `Date` and ``Filter/Operand`` itself.
///
/// ```swift
/// let recent = Filter.createdAt >= Date().addingTimeInterval(-7 * 86_400)
/// let important = Filter.field("priority") > 3
/// ```
public protocol FilterOperand: Sendable {
    /// The operand as the filter renders it.
    ///
    /// ```swift
    /// let operand = "fact".filterOperand   // .string("fact")
    /// ```
    var filterOperand: Filter.Operand { get }
}

extension String: FilterOperand {
    /// A string operand.
    ///
    /// ```swift
    /// let facts = Filter.field("kind") == "fact"
    /// ```
    public var filterOperand: Filter.Operand { .string(self) }
}

extension Int: FilterOperand {
    /// An integer operand.
    ///
    /// ```swift
    /// let urgent = Filter.field("priority") >= 4
    /// ```
    public var filterOperand: Filter.Operand { .int(Int64(self)) }
}

extension Int64: FilterOperand {
    /// An integer operand.
    ///
    /// ```swift
    /// let big = Filter.field("bytes") > Int64(1 << 40)
    /// ```
    public var filterOperand: Filter.Operand { .int(self) }
}

extension Double: FilterOperand {
    /// A number operand; it must be finite (a NaN or infinite operand makes the filter
    /// invalid: ``MnemoError/Code/invalidFilter`` when it is used).
    ///
    /// ```swift
    /// let confident = Filter.field("score") >= 0.8
    /// ```
    public var filterOperand: Filter.Operand { .double(self) }
}

extension Bool: FilterOperand {
    /// A bool operand (equality and `in` only: a bool is never ordered).
    ///
    /// ```swift
    /// let pinned = Filter.field("pinned") == true
    /// ```
    public var filterOperand: Filter.Operand { .bool(self) }
}

extension Date: FilterOperand {
    /// A time operand, rendered as integer nanoseconds since 1970 (as `createdAt` is stored;
    /// clamped to the 1678 ... 2262 range a 64-bit count spans).
    ///
    /// ```swift
    /// let november = Filter.createdAt >= Date(timeIntervalSince1970: 1_793_491_200) // 2026-11-01
    /// ```
    public var filterOperand: Filter.Operand { .date(self) }
}

extension Filter.Operand: FilterOperand {
    /// The operand itself.
    ///
    /// ```swift
    /// let mixed = Filter.field("code").in([1, "one"] as [Filter.Operand])
    /// ```
    public var filterOperand: Filter.Operand { self }
}
