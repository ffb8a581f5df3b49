using System;

namespace MemSafety.Samples.Boxing.After.StructMissingOverride;

// MSA2004 has no automatic fix: the author adds the override (hashing every field, which
// ValueType.GetHashCode may not do), so the call is direct and nothing is boxed.
public struct GridCell : IEquatable<GridCell>
{
    public int Row;
    public int Column;

    public bool Equals(GridCell other) => Row == other.Row && Column == other.Column;

    public override bool Equals(object? obj) => obj is GridCell other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Row, Column);
}

public static class CellHashing
{
    public static int Bucket(GridCell cell, int buckets)
    {
        var hash = cell.GetHashCode();
        return (hash & 0x7FFFFFFF) % buckets;
    }
}
