using System;
using System.Collections.Generic;

namespace MemSafety.Samples.Boxing.After.StructDefaultEquality;

// What the MSA2003 fix produces: the struct implements IEquatable<GridCell>, so the default comparer calls
// Equals(GridCell) and the GetHashCode override directly, with no box.
public struct GridCell : IEquatable<GridCell>
{
    public int Row;
    public int Column;

    public bool Equals(GridCell other) => Row == other.Row && Column == other.Column;

    public override bool Equals(object? obj) => obj is GridCell other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Row, Column);

    public static bool operator ==(GridCell left, GridCell right) => left.Equals(right);

    public static bool operator !=(GridCell left, GridCell right) => !left.Equals(right);
}

public sealed class Board
{
    private readonly Dictionary<GridCell, char> _marks = new Dictionary<GridCell, char>();

    public void Mark(int row, int column, char mark) => _marks[new GridCell { Row = row, Column = column }] = mark;

    public char At(int row, int column) => _marks.TryGetValue(new GridCell { Row = row, Column = column }, out var mark) ? mark : ' ';
}
