using System.Collections.Generic;

namespace MemSafety.Samples.Boxing.Before.StructDefaultEquality;

// MSA2003: GridCell has no IEquatable<GridCell>, so the dictionary's default comparer boxes the key for
// GetHashCode and both keys for every Equals, and ValueType.Equals may compare the fields through reflection.
public struct GridCell
{
    public int Row;
    public int Column;
}

public sealed class Board
{
    private readonly Dictionary<GridCell, char> _marks = new Dictionary<GridCell, char>();

    public void Mark(int row, int column, char mark) => _marks[new GridCell { Row = row, Column = column }] = mark;

    public char At(int row, int column) => _marks.TryGetValue(new GridCell { Row = row, Column = column }, out var mark) ? mark : ' ';
}
