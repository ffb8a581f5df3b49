using System;
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

    // By hand: a generic overload is chosen over the params form and allocates nothing until it fails.
    public static void Validate(Square[] squares)
    {
        for (var i = 0; i < squares.Length; i++)
            Check.Ensure(squares[i].Side > 0, "square {0} has side {1}", i, squares[i].Side);
    }
}

public static class Check
{
    public static void Ensure(bool condition, string format, params object[] args)
    {
        if (!condition)
            throw new ArgumentException(string.Format(format, args));
    }

    public static void Ensure<T1, T2>(bool condition, string format, T1 arg1, T2 arg2)
    {
        if (!condition)
            throw new ArgumentException(string.Format(format, arg1, arg2));
    }
}
