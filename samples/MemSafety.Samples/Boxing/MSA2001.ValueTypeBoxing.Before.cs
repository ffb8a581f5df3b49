using System.Collections.Generic;

namespace MemSafety.Samples.Boxing.Before.ValueTypeBoxing;

public interface IShape
{
    int Area();
}

public struct Square : IShape
{
    public int Side;

    public int Area() => Side * Side;
}

public static class Geometry
{
    // MSA2001 (fix: make Measure generic over IShape): each call boxes the square.
    private static int Measure(IShape shape) => shape.Area();

    public static int TotalArea(Square[] squares)
    {
        var total = 0;
        foreach (var square in squares)
            total += Measure(square);
        return total;
    }

    // MSA2001 (no fix: the collection's element type is an API decision): each Add boxes an int.
    public static List<object> Sides(Square[] squares)
    {
        var sides = new List<object>(squares.Length);
        foreach (var square in squares)
            sides.Add(square.Side);
        return sides;
    }
}
