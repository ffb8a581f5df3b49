using System.Collections.Generic;

namespace MemSafety.Samples.Boxing.After.ValueTypeBoxing;

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
    // What the fix produces: a constrained call on a by-value struct, no box.
    private static int Measure<TShape>(TShape shape) where TShape : IShape => shape.Area();

    public static int TotalArea(Square[] squares)
    {
        var total = 0;
        foreach (var square in squares)
            total += Measure(square);
        return total;
    }

    // By hand: a typed list holds the ints themselves.
    public static List<int> Sides(Square[] squares)
    {
        var sides = new List<int>(squares.Length);
        foreach (var square in squares)
            sides.Add(square.Side);
        return sides;
    }
}
