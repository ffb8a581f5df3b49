namespace MemSafety.Samples.Boxing.Before.StructMissingOverride;

// MSA2004: GridCell does not override GetHashCode, so every call boxes the cell and runs ValueType.GetHashCode.
public struct GridCell
{
    public int Row;
    public int Column;
}

public static class CellHashing
{
    public static int Bucket(GridCell cell, int buckets)
    {
        var hash = cell.GetHashCode();
        return (hash & 0x7FFFFFFF) % buckets;
    }
}
